/**
 * The drift statistics against values worked by hand and textbook critical values (chi-square 3.841 at df 1 and
 * 5.991 at df 2 are p = 0.05; the Kolmogorov distribution's 1.358 is p = 0.05; SciPy's
 * `jensenshannon([.5, .5], [1, 0], base=2)` is 0.5579).
 */
import { describe, expect, it } from 'vitest';
import { chiSquarePValue, jensenShannon, ksPValue, ksStatistic, psi } from 'modelship';
import { upperRegularizedGamma } from '../../src/monitoring/drift-metrics.js';

describe('drift metrics', () => {
  it('PSI: 0 for the same shares, the worked value for a shift, finite with empty bins', () => {
    expect(psi([10, 20, 30], [20, 40, 60])).toBeCloseTo(0, 12);
    // (0.9 − 0.5)·ln(1.8) + (0.1 − 0.5)·ln(0.2)
    expect(psi([50, 50], [90, 10])).toBeCloseTo(0.4 * Math.log(1.8) + 0.4 * Math.log(5), 10);
    expect(Number.isFinite(psi([100, 0], [0, 100]))).toBe(true);
    expect(psi([100, 0], [0, 100])).toBeGreaterThan(5);
    expect(psi([0, 0], [1, 1])).toBe(0);
  });

  it('KS: the largest gap of the cumulative shares, and its asymptotic p-value', () => {
    expect(ksStatistic([25, 25, 25, 25], [50, 50, 0, 0])).toBeCloseTo(0.5, 12);
    expect(ksStatistic([1, 1], [2, 2])).toBeCloseTo(0, 12);
    const n = 1_000_000;
    const en = Math.sqrt((n * n) / (2 * n));
    expect(ksPValue(1.358 / (en + 0.12 + 0.11 / en), n, n)).toBeCloseTo(0.05, 3);
    expect(ksPValue(0, 10, 10)).toBe(1);
  });

  it('Jensen–Shannon distance (base 2): 0, 1 and the SciPy value', () => {
    expect(jensenShannon([3, 7], [30, 70])).toBeCloseTo(0, 7);
    expect(jensenShannon([1, 0], [0, 1])).toBeCloseTo(1, 12);
    expect(jensenShannon([0.5, 0.5], [1, 0])).toBeCloseTo(0.5579, 4);
  });

  it('chi-square p-values at the textbook critical values', () => {
    expect(upperRegularizedGamma(0.5, 3.841458820694124 / 2)).toBeCloseTo(0.05, 8);
    expect(upperRegularizedGamma(1, 5.991464547107979 / 2)).toBeCloseTo(0.05, 8);
    expect(upperRegularizedGamma(10, 30)).toBeGreaterThan(0);
    // 100 draws exactly as expected: no evidence of drift; all in one category of ten: certain drift.
    expect(chiSquarePValue([10, 10, 10, 10, 10, 10, 10, 10, 10, 10], Array(10).fill(10))).toBeCloseTo(1, 8);
    expect(chiSquarePValue(Array(10).fill(10), [100, 0, 0, 0, 0, 0, 0, 0, 0, 0])).toBeLessThan(1e-10);
  });
});
