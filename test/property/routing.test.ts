/**
 * Properties of traffic splitting: a routing key always gets the same version for the same weights, raising
 * the canary's weight only ever moves keys *to* the canary, and the observed share tracks the weight.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hash53, seededRandom, unitHash } from '../../src/routing/policy/hash.js';
import { pickByKey, pickByWeight, type WeightedTarget } from '../../src/routing/policy/weighted-choice.js';

/** How a deployment builds its targets (see `Deployment#route`): ids are roles, weights sum to 1. */
const split = (canary: number): WeightedTarget<string>[] => [
  { id: 'stable', weight: 1 - canary, value: 'stable' },
  { id: 'canary', weight: canary, value: 'canary' },
];

const routingKey = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ maxLength: 12, unit: 'grapheme' }),
  fc.uuid(),
  fc.nat().map((n) => `user-${n}`),
);
const weight = fc.double({ min: 0, max: 1, noNaN: true });

describe('routing properties', () => {
  it('hashes are stable and unitHash stays strictly inside (0, 1)', () => {
    fc.assert(
      fc.property(routingKey, fc.integer(), (key, seed) => {
        expect(hash53(key, seed)).toBe(hash53(key, seed));
        expect(Number.isSafeInteger(hash53(key, seed))).toBe(true);
        const u = unitHash(key, seed);
        expect(u > 0 && u < 1).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('a key always gets the same target for the same weights, whatever the order of the targets', () => {
    const targets = fc.uniqueArray(
      fc.record({ id: fc.string({ minLength: 1, maxLength: 6 }), weight: fc.double({ min: 0, max: 10, noNaN: true }) }),
      { minLength: 1, maxLength: 5, selector: (t) => t.id },
    );
    fc.assert(
      fc.property(routingKey, targets, (key, ts) => {
        const withValues = ts.map((t) => ({ ...t, value: t.id }));
        const first = pickByKey(key, withValues);
        expect(
          pickByKey(
            key,
            withValues.map((t) => ({ ...t })),
          ),
        ).toBe(first);
        expect(pickByKey(key, [...withValues].reverse())).toBe(first);
        if (first !== undefined) expect(withValues.find((t) => t.id === first)?.weight).toBeGreaterThan(0);
        else expect(withValues.every((t) => !(t.weight > 0))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('equal scores (subnormal weights) are broken by id, not by the order of the targets', () => {
    const targets = [
      { id: '2', weight: 4.4e-323, value: '2' },
      { id: 'e8M', weight: 3e-323, value: 'e8M' },
    ];
    const key = '0000000b-5e49-2b16-9db9-62486ba8da54';
    expect(pickByKey(key, [...targets].reverse())).toBe(pickByKey(key, targets));
  });

  it('raising the canary weight never moves a key from the canary back to stable', () => {
    fc.assert(
      fc.property(routingKey, weight, weight, (key, a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        if (pickByKey(key, split(low)) === 'canary') expect(pickByKey(key, split(high))).toBe('canary');
        if (pickByKey(key, split(high)) === 'stable') expect(pickByKey(key, split(low))).toBe('stable');
      }),
      { numRuns: 2000 },
    );
  });

  it('with three targets, raising one weight only moves keys to that target', () => {
    fc.assert(
      fc.property(
        routingKey,
        fc.array(fc.double({ min: 0.01, max: 5, noNaN: true }), { minLength: 3, maxLength: 3 }),
        fc.nat({ max: 2 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        (key, weights, grown, factor) => {
          const before = weights.map((w, i) => ({ id: `v${i}`, weight: w, value: i }));
          const after = before.map((t, i) => (i === grown ? { ...t, weight: t.weight * factor } : t));
          const from = pickByKey(key, before);
          const to = pickByKey(key, after);
          if (to !== from) expect(to).toBe(grown);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('the share of keys sent to the canary tracks its weight', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer(), (w, salt) => {
        const n = 4000;
        let canary = 0;
        for (let i = 0; i < n; i++) if (pickByKey(`${salt}:${i}`, split(w)) === 'canary') canary++;
        // Binomial standard deviation at n = 4000 is at most 0.008: 0.04 is five of them.
        expect(Math.abs(canary / n - w)).toBeLessThan(0.04);
      }),
      { numRuns: 25 },
    );
  });

  it('random (keyless) routing tracks the weight too, and weight 0 or 1 is absolute', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer(), (w, seed) => {
        const random = seededRandom(seed);
        const n = 4000;
        let canary = 0;
        for (let i = 0; i < n; i++) if (pickByWeight(random(), split(w)) === 'canary') canary++;
        expect(Math.abs(canary / n - w)).toBeLessThan(0.04);
        if (w === 0) expect(canary).toBe(0);
        if (w === 1) expect(canary).toBe(n);
      }),
      { numRuns: 25 },
    );
  });

  it('seededRandom stays in [0, 1) and repeats for the same seed', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const a = seededRandom(seed);
        const b = seededRandom(seed);
        for (let i = 0; i < 50; i++) {
          const v = a();
          expect(v).toBe(b());
          expect(v >= 0 && v < 1).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});
