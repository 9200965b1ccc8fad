import { unitHash } from './hash.js';

/** One destination and its share of traffic (any non-negative number; shares are relative). */
export interface WeightedTarget<T> {
  readonly id: string;
  readonly weight: number;
  readonly value: T;
}

/**
 * Weighted rendezvous (highest random weight) hashing: the target with the largest `weight / -ln(h(key, id))`
 * wins. A key always lands on the same target for the same weights, and when one target's weight grows
 * relative to the others, the only keys that move are keys moving *to* it — no key is shuffled between the
 * targets whose share did not change. Targets with weight 0 never win; returns undefined when none has weight.
 */
export function pickByKey<T>(key: string, targets: readonly WeightedTarget<T>[]): T | undefined {
  let best: WeightedTarget<T> | undefined;
  let bestScore = -Infinity;
  for (const t of targets) {
    if (!(t.weight > 0)) continue;
    const score = t.weight / -Math.log(unitHash(`${t.id}\u0000${key}`));
    // Equal scores (tiny weights round to the same subnormal) go to the smaller id, so the order of targets never matters.
    if (score > bestScore || (score === bestScore && best !== undefined && t.id < best.id)) {
      bestScore = score;
      best = t;
    }
  }
  return best?.value;
}

/** A target chosen in proportion to its weight with `random()` in [0, 1); undefined when no target has weight. */
export function pickByWeight<T>(random: number, targets: readonly WeightedTarget<T>[]): T | undefined {
  let total = 0;
  for (const t of targets) if (t.weight > 0) total += t.weight;
  if (total <= 0) return undefined;
  let point = random * total;
  let last: WeightedTarget<T> | undefined;
  for (const t of targets) {
    if (!(t.weight > 0)) continue;
    last = t;
    if (point < t.weight) return t.value;
    point -= t.weight;
  }
  return last?.value;
}
