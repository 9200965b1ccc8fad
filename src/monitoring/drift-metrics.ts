/**
 * Drift statistics between a reference histogram and a live one over the same bins. Pure functions on counts:
 * the bins come from the baseline (quantile edges for numeric features, categories for categorical ones), so
 * every comparison is O(bins) whatever the sample sizes.
 */

/** Share given to an empty bin so that logarithms stay finite (Evidently and most PSI write-ups use 1e-4). */
const EMPTY_BIN_SHARE = 1e-4;

function shares(counts: ArrayLike<number>, total: number, floor: number): Float64Array {
  const out = new Float64Array(counts.length);
  for (let i = 0; i < counts.length; i++) out[i] = Math.max((counts[i] as number) / total, floor);
  return out;
}

function sum(counts: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < counts.length; i++) s += counts[i] as number;
  return s;
}

/**
 * Population stability index: Σ (live − ref) · ln(live / ref) over the bins, empty bins counted as 1e-4.
 * Under 0.1 is usually read as stable, 0.1–0.2 as a moderate shift, over 0.2 as a significant one.
 *
 * @example
 * ```ts
 * psi([50, 50], [90, 10]); // ≈ 0.88
 * ```
 */
export function psi(reference: ArrayLike<number>, live: ArrayLike<number>): number {
  const n = sum(reference);
  const m = sum(live);
  if (n === 0 || m === 0) return 0;
  const p = shares(reference, n, EMPTY_BIN_SHARE);
  const q = shares(live, m, EMPTY_BIN_SHARE);
  let s = 0;
  for (let i = 0; i < p.length; i++)
    s += ((q[i] as number) - (p[i] as number)) * Math.log((q[i] as number) / (p[i] as number));
  return s;
}

/**
 * Kolmogorov–Smirnov statistic D on binned data: the largest gap between the two cumulative distributions at
 * the bin edges (0–1). With the baseline's decile edges this is a lower bound of the exact D.
 */
export function ksStatistic(reference: ArrayLike<number>, live: ArrayLike<number>): number {
  const n = sum(reference);
  const m = sum(live);
  if (n === 0 || m === 0) return 0;
  let a = 0;
  let b = 0;
  let d = 0;
  for (let i = 0; i < reference.length; i++) {
    a += (reference[i] as number) / n;
    b += (live[i] as number) / m;
    d = Math.max(d, Math.abs(a - b));
  }
  return d;
}

/** p-value of a two-sample KS statistic `d` for sample sizes `n` and `m` (the asymptotic Kolmogorov distribution). */
export function ksPValue(d: number, n: number, m: number): number {
  if (n === 0 || m === 0 || d <= 0) return 1;
  const en = Math.sqrt((n * m) / (n + m));
  const lambda = (en + 0.12 + 0.11 / en) * d;
  let p = 0;
  for (let j = 1; j <= 100; j++) {
    const term = 2 * (j % 2 === 1 ? 1 : -1) * Math.exp(-2 * j * j * lambda * lambda);
    p += term;
    if (Math.abs(term) < 1e-10) break;
  }
  return Math.min(1, Math.max(0, p));
}

/** Jensen–Shannon distance (the square root of the divergence, base 2): 0 for equal distributions, 1 for disjoint ones. */
export function jensenShannon(reference: ArrayLike<number>, live: ArrayLike<number>): number {
  const n = sum(reference);
  const m = sum(live);
  if (n === 0 || m === 0) return 0;
  let divergence = 0;
  for (let i = 0; i < reference.length; i++) {
    const p = (reference[i] as number) / n;
    const q = (live[i] as number) / m;
    const mid = (p + q) / 2;
    if (p > 0) divergence += 0.5 * p * Math.log2(p / mid);
    if (q > 0) divergence += 0.5 * q * Math.log2(q / mid);
  }
  return Math.sqrt(Math.max(0, Math.min(1, divergence)));
}

/**
 * p-value of Pearson's chi-square goodness-of-fit test of the live counts against the reference shares (empty
 * reference bins counted as 1e-4): low means the live data do not follow the reference distribution.
 */
export function chiSquarePValue(reference: ArrayLike<number>, live: ArrayLike<number>): number {
  const n = sum(reference);
  const m = sum(live);
  if (n === 0 || m === 0 || reference.length < 2) return 1;
  const p = shares(reference, n, EMPTY_BIN_SHARE);
  const total = sum(p);
  let statistic = 0;
  for (let i = 0; i < p.length; i++) {
    const expected = (m * (p[i] as number)) / total;
    const gap = (live[i] as number) - expected;
    statistic += (gap * gap) / expected;
  }
  return upperRegularizedGamma((reference.length - 1) / 2, statistic / 2);
}

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7, 9 terms; about 15 significant digits). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0] as number;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Q(a, x) = Γ(a, x) / Γ(a): a series below a + 1, a continued fraction above (Numerical Recipes §6.2). */
export function upperRegularizedGamma(a: number, x: number): number {
  if (x <= 0) return 1;
  const lead = Math.exp(-x + a * Math.log(x) - logGamma(a));
  if (x < a + 1) {
    let term = 1 / a;
    let total = term;
    for (let n = 1; n < 500; n++) {
      term *= x / (a + n);
      total += term;
      if (Math.abs(term) < Math.abs(total) * 1e-14) break;
    }
    return Math.max(0, Math.min(1, 1 - total * lead));
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 500; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-14) break;
  }
  return Math.max(0, Math.min(1, h * lead));
}
