import { pickByKey, pickByWeight, type WeightedTarget } from './policy/index.js';

/**
 * Where requests go: stable and a weighted canary, sticky by routing key (weighted rendezvous hashing) or split
 * with the random source; and which answers are mirrored (to the shadow, or to stable to compare a canary).
 * The targets are rebuilt when the weights change, so routing a request allocates nothing.
 */
export class Traffic<T> {
  readonly #random: () => number;
  readonly #shadowRate: number;
  readonly #compareRate: number;
  #stable: T;
  #canary: T | undefined;
  #weight = 0;
  #targets: readonly WeightedTarget<T>[] = [];

  /**
   * @param random in [0, 1), for splits without a routing key and for sampling
   * @param shadowRate share of answers mirrored to the shadow
   * @param compareRate share of canary answers also sent to stable, to measure agreement
   */
  constructor(stable: T, random: () => number, shadowRate: number, compareRate: number) {
    this.#stable = stable;
    this.#random = random;
    this.#shadowRate = shadowRate;
    this.#compareRate = compareRate;
  }

  /** Sets who serves: `stable`, and `canary` taking `weight` (0–1) of the traffic. */
  set(stable: T, canary: T | undefined, weight: number): void {
    this.#stable = stable;
    this.#canary = canary;
    this.#weight = canary === undefined ? 0 : weight;
    // Ids are roles, not versions, so a key keeps its side when the versions behind the roles change.
    this.#targets =
      canary === undefined
        ? []
        : [
            { id: 'stable', weight: 1 - weight, value: stable },
            { id: 'canary', weight, value: canary },
          ];
  }

  /** The version answering callers by default. */
  get stable(): T {
    return this.#stable;
  }

  /** The canary, while there is one (whatever its weight). */
  get canary(): T | undefined {
    return this.#canary;
  }

  /** The version for a request with `key` (or a random one by weight without). */
  pick(key: string | undefined): T {
    if (this.#canary === undefined || this.#weight <= 0) return this.#stable;
    return (
      (key === undefined ? pickByWeight(this.#random(), this.#targets) : pickByKey(key, this.#targets)) ?? this.#stable
    );
  }

  /** Whether this answer goes to the shadow too. */
  mirrorToShadow(): boolean {
    return this.#shadowRate >= 1 || this.#random() < this.#shadowRate;
  }

  /** Whether this canary answer goes to stable too, to compare them. */
  compareWithStable(): boolean {
    return this.#compareRate >= 1 || this.#random() < this.#compareRate;
  }
}
