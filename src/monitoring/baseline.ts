import { toFeeds, type PredictInput } from '../core/input.js';
import { ModelshipError } from '../errors/index.js';
import type { ModelSignature, TensorLike } from '../spec/tensor.js';
import { FeatureExtractor, sourcesOf, type FeatureSource } from './features.js';

/** The format tag every baseline carries; a later incompatible layout gets a new one. */
export const BASELINE_FORMAT = 'modelship.baseline/v1';

/** What a numeric feature looked like in the sample: a fixed-edge histogram on its quantiles, plus a summary. */
export interface NumericFeatureBaseline {
  readonly name: string;
  /** Bin edges, ascending: bin 0 is `≤ edges[0]`, bin i is `(edges[i-1], edges[i]]`, the last `> edges[last]`. */
  readonly edges: readonly number[];
  /** Sample rows per bin (`edges.length + 1` bins). */
  readonly counts: readonly number[];
  /** The 0, 5 %, 10 %, … 100 % quantiles (21 values), for reports and plots. */
  readonly quantiles: readonly number[];
  readonly mean: number;
  readonly std: number;
}

/** What a categorical feature (integers, strings, booleans, a classifier's answer) looked like in the sample. */
export interface CategoricalFeatureBaseline {
  readonly name: string;
  /** The most frequent categories (at most `maxCategories`), as strings. */
  readonly categories: readonly string[];
  readonly counts: readonly number[];
  /** Sample rows in any other category; live values outside `categories` count here too. */
  readonly other: number;
}

/**
 * Per-feature statistics of a training or validation sample, compared with live traffic to measure drift.
 * Plain JSON: it is stored with the model version in a registry (`publish({ baseline })`).
 */
export interface Baseline {
  readonly format: typeof BASELINE_FORMAT;
  /** Rows in the sample. */
  readonly rows: number;
  readonly createdAt: string;
  /** How the tensors are read as features; serving reads rows the same way. */
  readonly sources: readonly FeatureSource[];
  readonly numeric: readonly NumericFeatureBaseline[];
  readonly categorical: readonly CategoricalFeatureBaseline[];
}

/** Options of {@link createBaseline}. */
export interface CreateBaselineOptions {
  /** The model's signature: says which tensors are inputs and outputs and checks the inputs like `predict` does. */
  readonly signature: ModelSignature;
  /** Histogram bins per numeric feature, at the sample's quantiles (default 10: deciles). */
  readonly bins?: number;
  /** Categories kept per categorical feature, the most frequent first (default 50); the rest are `other`. */
  readonly maxCategories?: number;
}

/** A sample to build a baseline from: the inputs, and the model's outputs for them when output drift is wanted. */
export interface BaselineSample {
  readonly inputs: PredictInput;
  readonly outputs?: Readonly<Record<string, TensorLike>>;
}

function quantileOfSorted(sorted: Float32Array, q: number): number {
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Bin of `value` for `edges`: the number of edges strictly below it. */
export function binOf(edges: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((edges[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function numericBaseline(name: string, column: Float32Array, bins: number): NumericFeatureBaseline {
  let total = 0;
  let squares = 0;
  for (const v of column) {
    total += v;
    squares += v * v;
  }
  const mean = total / column.length;
  column.sort();
  const edges = [...new Set(Array.from({ length: bins - 1 }, (_, i) => quantileOfSorted(column, (i + 1) / bins)))];
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of column) counts[binOf(edges, v)]! += 1;
  return {
    name,
    edges,
    counts,
    quantiles: Array.from({ length: 21 }, (_, i) => quantileOfSorted(column, i / 20)),
    mean,
    std: Math.sqrt(Math.max(0, squares / column.length - mean * mean)),
  };
}

function categoricalBaseline(name: string, seen: Map<string, number>, max: number): CategoricalFeatureBaseline {
  const ranked = [...seen].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const kept = ranked.slice(0, max);
  return {
    name,
    categories: kept.map(([c]) => c),
    counts: kept.map(([, n]) => n),
    other: ranked.slice(max).reduce((s, [, n]) => s + n, 0),
  };
}

function positiveInt(value: number | undefined, fallback: number, name: string, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > 1000)
    throw new ModelshipError('INVALID_ARGUMENT', `${name} must be an integer from ${min} to 1000, got ${value}.`);
  return value;
}

/**
 * Summarises a training or validation sample per feature: deciles histograms and quantiles for numeric inputs
 * (plus the row's mean, standard deviation and four random projections for rows wider than 16, e.g. images),
 * category counts for integer, boolean and string inputs, and the outputs the same way (with a classifier's
 * answer, the index of its largest score, as `<output>.class`). Inputs are checked like `predict` checks them.
 *
 * @example
 * ```ts
 * const outputs = await model.predict({ pixels: trainImages });
 * const baseline = createBaseline({ inputs: { pixels: trainImages }, outputs }, { signature: model.signature });
 * await registry.publish({ name: 'mnist', bytes, baseline });
 * ```
 */
export function createBaseline(sample: BaselineSample, options: CreateBaselineOptions): Baseline {
  const bins = positiveInt(options.bins, 10, 'bins', 2);
  const maxCategories = positiveInt(options.maxCategories, 50, 'maxCategories', 1);
  const feeds = toFeeds(options.signature, sample.inputs, { maxRows: Number.MAX_SAFE_INTEGER });
  const tensors: Record<string, TensorLike> = { ...feeds, ...sample.outputs };
  const sources = sourcesOf(options.signature, tensors);
  const extractor = new FeatureExtractor(sources);
  const perSource = sources.map((s) => (tensors[s.tensor] as TensorLike).data.length / s.width);
  const rows = Math.min(...perSource);
  if (perSource.some((n) => n !== rows))
    throw new ModelshipError(
      'INVALID_ARGUMENT',
      `The sample's outputs do not have one row per input row (${perSource.join(', ')} rows in ${sources.map((s) => s.tensor).join(', ')}); pass the model's outputs for exactly these inputs.`,
    );
  if (!(rows > 0))
    throw new ModelshipError('INVALID_ARGUMENT', 'A baseline needs at least one row of inputs; the sample has none.');
  const columns = extractor.numericNames.map(() => new Float32Array(rows));
  const seen = extractor.categoricalNames.map(() => new Map<string, number>());
  let row = 0;
  extractor.extract(tensors, (numeric, categorical) => {
    for (let i = 0; i < numeric.length; i++) (columns[i] as Float32Array)[row] = numeric[i] as number;
    for (let i = 0; i < categorical.length; i++) {
      const counts = seen[i] as Map<string, number>;
      const c = categorical[i] as string;
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    row++;
  });
  return {
    format: BASELINE_FORMAT,
    rows,
    createdAt: new Date().toISOString(),
    sources,
    numeric: extractor.numericNames.map((name, i) => numericBaseline(name, columns[i] as Float32Array, bins)),
    categorical: extractor.categoricalNames.map((name, i) =>
      categoricalBaseline(name, seen[i] as Map<string, number>, maxCategories),
    ),
  };
}
