import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/core/duration.js';
import {
  agrees,
  checkGuardrails,
  pickByKey,
  pickByWeight,
  seededRandom,
  signatureIncompatibilities,
  SlidingWindow,
} from '../../src/routing/policy/index.js';
import { Tensor } from '../../src/core/tensor.js';

const split = (w: number) => [
  { id: 'stable', weight: 1 - w, value: 'stable' },
  { id: 'canary', weight: w, value: 'canary' },
];
const keys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

describe('weighted routing', () => {
  it('splits random traffic by weight (fixed seed)', () => {
    const random = seededRandom(42);
    let canary = 0;
    for (let i = 0; i < 100_000; i++) if (pickByWeight(random(), split(0.1)) === 'canary') canary++;
    expect(canary / 100_000).toBeGreaterThan(0.095);
    expect(canary / 100_000).toBeLessThan(0.105);
  });

  it('splits 10k routing keys by weight and keeps each key on one version', () => {
    const first = keys.map((k) => pickByKey(k, split(0.2)));
    const share = first.filter((v) => v === 'canary').length / keys.length;
    // Binomial sd at n = 10k is 0.004; 0.02 is five of them.
    expect(share).toBeGreaterThan(0.18);
    expect(share).toBeLessThan(0.22);
    const again = keys.map((k) => pickByKey(k, [...split(0.2)].reverse()));
    expect(again).toEqual(first);
  });

  it('moves only the keys that must move when the canary weight goes from 10 % to 20 %', () => {
    const before = keys.map((k) => pickByKey(k, split(0.1)));
    const after = keys.map((k) => pickByKey(k, split(0.2)));
    const backToStable = keys.filter((_, i) => before[i] === 'canary' && after[i] === 'stable').length;
    const moved = keys.filter((_, i) => before[i] !== after[i]).length;
    expect(backToStable).toBe(0);
    expect(moved / keys.length).toBeGreaterThan(0.08);
    expect(moved / keys.length).toBeLessThan(0.12);
  });

  it('never picks a zero-weight target', () => {
    expect(keys.slice(0, 1000).every((k) => pickByKey(k, split(0)) === 'stable')).toBe(true);
    expect(pickByWeight(0.5, split(0).slice(1))).toBeUndefined();
  });
});

describe('SlidingWindow', () => {
  it('forgets what is older than its span and computes p99 and agreement', () => {
    let now = 0;
    const w = new SlidingWindow(10_000, () => now);
    for (let i = 1; i <= 100; i++) w.record(i, i % 10 === 0);
    w.compare(true);
    w.compare(false);
    const s = w.stats();
    expect(s).toMatchObject({ requests: 100, errors: 10, errorRate: 0.1, compared: 2, agreed: 1, agreement: 0.5 });
    expect(s.p99Ms).toBe(99);
    expect(s.p50Ms).toBe(49);
    now = 20_000;
    expect(w.stats().requests).toBe(0);
    w.record(5, false);
    expect(w.stats()).toMatchObject({ requests: 1, p99Ms: 5 });
  });
});

describe('agreement rules', () => {
  const probs = (rows: number[][]) =>
    new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0]!.length]);
  it('compares top classes with argmax, values with exact and tolerances', () => {
    const a = {
      p: probs([
        [0.1, 0.9],
        [0.8, 0.2],
      ]),
    };
    const b = {
      p: probs([
        [0.3, 0.7],
        [0.6, 0.4],
      ]),
    };
    const c = {
      p: probs([
        [0.6, 0.4],
        [0.6, 0.4],
      ]),
    };
    expect(agrees('argmax', a, b)).toBe(true);
    expect(agrees('argmax', a, c)).toBe(false);
    expect(agrees('exact', a, a)).toBe(true);
    expect(agrees('exact', a, b)).toBe(false);
    expect(agrees({ abs: 0.25 }, a, b)).toBe(true);
    expect(agrees({ abs: 0.1 }, a, b)).toBe(false);
    expect(agrees({ rel: 2.1 }, a, b)).toBe(true);
    expect(agrees({ rel: 0.5 }, a, b)).toBe(false);
    expect(agrees(() => false, a, a)).toBe(false);
    const labels = (v: number[]) => ({ label: new Tensor('int64', BigInt64Array.from(v.map(BigInt)), [v.length]) });
    expect(agrees('argmax', labels([1, 2]), labels([1, 2]))).toBe(true);
    expect(agrees('argmax', labels([1, 2]), labels([1, 3]))).toBe(false);
  });
});

describe('signature compatibility', () => {
  const sig = (inputShape: (number | null)[], dtype: 'float32' | 'int64' = 'float32') => ({
    inputs: [{ name: 'x', dtype, shape: inputShape }],
    outputs: [{ name: 'y', dtype: 'float32' as const, shape: [null, 10] }],
  });
  it('accepts the same inputs and outputs and names every difference otherwise', () => {
    expect(signatureIncompatibilities(sig([null, 784]), sig([null, 784]))).toEqual([]);
    expect(signatureIncompatibilities(sig([null, 784]), sig([null, 4]))).toEqual([
      expect.stringMatching(/^input "x" has shape .*4.*, was .*784/),
    ]);
    expect(signatureIncompatibilities(sig([null, 784]), sig([null, 784], 'int64'))).toEqual([
      'input "x" is int64, was float32',
    ]);
    expect(signatureIncompatibilities(sig([null, 784]), { inputs: sig([null, 784]).inputs, outputs: [] })).toEqual([
      'output "y" is missing',
    ]);
  });
});

describe('guardrail check', () => {
  const stats = (over: Partial<ReturnType<SlidingWindow['stats']>>) => ({
    requests: 100,
    errors: 0,
    errorRate: 0,
    p50Ms: 1,
    p99Ms: 1,
    compared: 0,
    agreed: 0,
    agreement: undefined,
    ...over,
  });
  it('reports the breached rule only with enough evidence', () => {
    const limits = { minRequests: 50, maxErrorRate: 0.05, maxLatencyP99Ratio: 2, minShadowAgreement: 0.9 };
    expect(checkGuardrails(stats({ errorRate: 0.1 }), stats({}), limits)?.rule).toBe('error-rate');
    expect(checkGuardrails(stats({ errorRate: 0.1, requests: 10 }), stats({}), limits)).toBeUndefined();
    expect(checkGuardrails(stats({ p99Ms: 3 }), stats({}), limits)).toMatchObject({
      rule: 'latency-p99-ratio',
      value: 3,
    });
    expect(checkGuardrails(stats({ compared: 60, agreement: 0.5 }), stats({}), limits)?.rule).toBe('agreement');
    expect(checkGuardrails(stats({ compared: 60, agreement: 0.95, p99Ms: 1.5 }), stats({}), limits)).toBeUndefined();
  });
});

describe('parseDuration', () => {
  it('reads ms, s, m and h and refuses the rest', () => {
    expect([
      parseDuration('500ms'),
      parseDuration('60s'),
      parseDuration('5m'),
      parseDuration('1h'),
      parseDuration(42),
    ]).toEqual([500, 60_000, 300_000, 3_600_000, 42]);
    expect(() => parseDuration('5 minutes')).toThrow(/duration/);
  });
});
