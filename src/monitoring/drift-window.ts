import type { Baseline } from './baseline.js';
import { chiSquarePValue, jensenShannon, ksStatistic, psi } from './drift-metrics.js';

/** Drift of one feature between a reference and a live window. */
export interface FeatureDrift {
  readonly feature: string;
  readonly kind: 'numeric' | 'categorical';
  readonly psi: number;
  readonly js: number;
  /** Numeric features only: the KS statistic D on the binned distributions. */
  readonly ks?: number;
  /** Categorical features only: p-value of the chi-square test (low means drift). */
  readonly chi2Pvalue?: number;
  /** PSI for numeric features, Jensen–Shannon distance for categorical ones: what `drifted` is judged on. */
  readonly score: number;
  readonly drifted: boolean;
}

/** One comparison of a live window with its reference. */
export interface DriftReport {
  /** `baseline` (the training sample) or `stable` (a canary's window against stable's). */
  readonly reference: 'baseline' | 'stable';
  /** The model and version the live window belongs to (set by the model's monitor). */
  readonly model?: string;
  readonly version?: string;
  /** Live rows compared. */
  readonly rows: number;
  /** Features over their threshold. */
  readonly drifted: number;
  /** Features compared. */
  readonly total: number;
  /** drifted / total. */
  readonly share: number;
  /** Every feature, most drifted first (by score over threshold). */
  readonly features: readonly FeatureDrift[];
}

/** When a feature counts as drifted. */
export interface DriftThresholds {
  /** Numeric features: PSI over this (default 0.2). */
  readonly psi: number;
  /** Categorical features and classes: Jensen–Shannon distance over this (default 0.1). */
  readonly js: number;
}

/** Default thresholds: PSI 0.2 (the usual "significant shift"), Jensen–Shannon distance 0.1. */
export const DEFAULT_THRESHOLDS: DriftThresholds = Object.freeze({ psi: 0.2, js: 0.1 });

/**
 * Live counts on the baseline's bins, one histogram per feature: bounded memory (bins × features, whatever the
 * traffic), O(log bins) per numeric value.
 */
export class DriftWindow {
  rows = 0;
  readonly numeric: Uint32Array[];
  readonly categorical: Uint32Array[];
  readonly #index: Map<string, number>[];
  /** Every numeric feature's edges back to back (feature i's from `#edgeStart[i]`), and its counts likewise. */
  readonly #flatEdges: Float64Array;
  readonly #edgeStart: Uint32Array;
  readonly #flatCounts: Uint32Array;
  readonly #countStart: Uint32Array;

  constructor(baseline: Baseline) {
    const f = baseline.numeric;
    this.#flatEdges = Float64Array.from(f.flatMap((x) => x.edges));
    this.#edgeStart = new Uint32Array(f.length + 1);
    this.#countStart = new Uint32Array(f.length + 1);
    f.forEach((x, i) => {
      this.#edgeStart[i + 1] = (this.#edgeStart[i] as number) + x.edges.length;
      this.#countStart[i + 1] = (this.#countStart[i] as number) + x.edges.length + 1;
    });
    this.#flatCounts = new Uint32Array(this.#countStart[f.length] as number);
    // Per-feature views on the flat counts: what the comparisons read.
    this.numeric = f.map((_, i) =>
      this.#flatCounts.subarray(this.#countStart[i] as number, this.#countStart[i + 1] as number),
    );
    this.categorical = baseline.categorical.map((f) => new Uint32Array(f.categories.length + 1));
    this.#index = baseline.categorical.map((f) => new Map(f.categories.map((c, i) => [c, i])));
  }

  /** Adds one row, as the baseline's extractor reads it. */
  add(numeric: Float64Array, categorical: readonly string[]): void {
    const edges = this.#flatEdges;
    const from = this.#edgeStart;
    const counts = this.#flatCounts;
    const countFrom = this.#countStart;
    const features = from.length - 1;
    for (let i = 0; i < features; i++) {
      const v = numeric[i] as number;
      const first = from[i] as number;
      let lo = first;
      let hi = from[i + 1] as number;
      // A NaN (allowNonFinite) lands in the last bin rather than corrupting a count.
      if (v !== v) lo = hi;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((edges[mid] as number) < v) lo = mid + 1;
        else hi = mid;
      }
      counts[(countFrom[i] as number) + lo - first]! += 1;
    }
    for (let i = 0; i < this.categorical.length; i++) {
      const cat = this.categorical[i] as Uint32Array;
      const at = (this.#index[i] as Map<string, number>).get(categorical[i] as string);
      cat[at ?? cat.length - 1]! += 1;
    }
    this.rows++;
  }

  /** Starts a new window. */
  reset(): void {
    this.#flatCounts.fill(0);
    for (const c of this.categorical) c.fill(0);
    this.rows = 0;
  }

  /** The counts as plain arrays (a copy), for a window kept after `reset`. */
  snapshot(): WindowCounts {
    return {
      rows: this.rows,
      numeric: this.numeric.map((c) => c.slice()),
      categorical: this.categorical.map((c) => c.slice()),
    };
  }
}

/** Counts of a window (or of the baseline), per feature, on the baseline's bins. */
export interface WindowCounts {
  readonly rows: number;
  readonly numeric: readonly ArrayLike<number>[];
  readonly categorical: readonly ArrayLike<number>[];
}

/** The baseline's own counts, in the layout of a window. */
export function baselineCounts(baseline: Baseline): WindowCounts {
  return {
    rows: baseline.rows,
    numeric: baseline.numeric.map((f) => f.counts),
    categorical: baseline.categorical.map((f) => [...f.counts, f.other]),
  };
}

/** Compares `live` with `reference` feature by feature (both on `baseline`'s bins). */
export function compareWindows(
  baseline: Baseline,
  reference: WindowCounts,
  live: WindowCounts,
  thresholds: DriftThresholds,
  kind: DriftReport['reference'],
): DriftReport {
  const features: FeatureDrift[] = [];
  baseline.numeric.forEach((f, i) => {
    const ref = reference.numeric[i] as ArrayLike<number>;
    const cur = live.numeric[i] as ArrayLike<number>;
    const score = psi(ref, cur);
    features.push({
      feature: f.name,
      kind: 'numeric',
      psi: score,
      js: jensenShannon(ref, cur),
      ks: ksStatistic(ref, cur),
      score,
      drifted: score > thresholds.psi,
    });
  });
  baseline.categorical.forEach((f, i) => {
    const ref = reference.categorical[i] as ArrayLike<number>;
    const cur = live.categorical[i] as ArrayLike<number>;
    const score = jensenShannon(ref, cur);
    features.push({
      feature: f.name,
      kind: 'categorical',
      psi: psi(ref, cur),
      js: score,
      chi2Pvalue: chiSquarePValue(ref, cur),
      score,
      drifted: score > thresholds.js,
    });
  });
  const over = (d: FeatureDrift): number => d.score / (d.kind === 'numeric' ? thresholds.psi : thresholds.js);
  features.sort((a, b) => over(b) - over(a));
  const drifted = features.filter((f) => f.drifted).length;
  return {
    reference: kind,
    rows: live.rows,
    drifted,
    total: features.length,
    share: features.length === 0 ? 0 : drifted / features.length,
    features,
  };
}
