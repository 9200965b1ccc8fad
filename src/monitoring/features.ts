import type { DType, ModelSignature, TensorLike } from '../spec/tensor.js';

/** How one input or output tensor is turned into features; stored in the baseline so serving reads rows the same way. */
export interface FeatureSource {
  /** The input or output name. */
  readonly tensor: string;
  readonly role: 'input' | 'output';
  /** `numeric` for floating-point tensors, `categorical` for integers, booleans and strings. */
  readonly kind: 'numeric' | 'categorical';
  /** Elements per row (the product of the dimensions after the first). */
  readonly width: number;
  /** Wide numeric rows (over 16 elements) also get `.mean`, `.std` and four random projections `.proj0`–`.proj3`. */
  readonly summaries: boolean;
  /** Numeric outputs of more than one element also get `.class`, the index of the largest (a classifier's answer). */
  readonly argmax: boolean;
}

const SUMMARY_MIN_WIDTH = 17;
const PROJECTIONS = 4;
const CATEGORICAL_DTYPES: ReadonlySet<DType> = new Set([
  'int8',
  'int16',
  'int32',
  'int64',
  'uint32',
  'uint64',
  'bool',
  'string',
]);

/**
 * The feature sources of a signature: every input and output present in `tensors` (the sample), each row's
 * width read from the sample.
 */
export function sourcesOf(signature: ModelSignature, tensors: Readonly<Record<string, TensorLike>>): FeatureSource[] {
  const sources: FeatureSource[] = [];
  for (const [role, specs] of [
    ['input', signature.inputs],
    ['output', signature.outputs],
  ] as const) {
    for (const spec of specs) {
      const tensor = tensors[spec.name];
      if (tensor === undefined) continue;
      const rows = tensor.shape.length === 0 ? 1 : (tensor.shape[0] as number);
      const width = rows === 0 ? 0 : tensor.data.length / rows;
      // float16 data are raw half-precision bits; they are not read as features (yet).
      if (width === 0 || tensor.dtype === 'float16') continue;
      const kind = CATEGORICAL_DTYPES.has(tensor.dtype) ? 'categorical' : 'numeric';
      sources.push({
        tensor: spec.name,
        role,
        kind,
        width,
        summaries: kind === 'numeric' && width >= SUMMARY_MIN_WIDTH,
        argmax: kind === 'numeric' && role === 'output' && width > 1,
      });
    }
  }
  return sources;
}

/** Feature names a source yields, in the order the extractor fills them. */
export function featureNames(source: FeatureSource): { numeric: string[]; categorical: string[] } {
  const t = source.tensor;
  const element = (j: number): string => (source.width === 1 ? t : `${t}[${j}]`);
  const each = Array.from({ length: source.width }, (_, j) => element(j));
  if (source.kind === 'categorical') return { numeric: [], categorical: each };
  const numeric = source.summaries
    ? [...each, `${t}.mean`, `${t}.std`, ...Array.from({ length: PROJECTIONS }, (_, k) => `${t}.proj${k}`)]
    : each;
  return { numeric, categorical: source.argmax ? [`${t}.class`] : [] };
}

/** Fixed pseudo-random ±1/√width weights (xorshift32, one seed): the baseline and serving project the same way. */
function projectionWeights(width: number): Float32Array {
  const w = new Float32Array(PROJECTIONS * width);
  let s = 0x9e3779b9 >>> 0;
  const scale = 1 / Math.sqrt(width);
  for (let i = 0; i < w.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    w[i] = (s & 1) === 0 ? scale : -scale;
  }
  return w;
}

/** Copies one row into `out` at `at`; returns the index of its largest element. */
function readNumeric(data: ArrayLike<number>, start: number, width: number, out: Float64Array, at: number): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let j = 0; j < width; j++) {
    const v = data[start + j] as number;
    out[at + j] = v;
    if (v > bestValue) {
      bestValue = v;
      best = j;
    }
  }
  return best;
}

/** The row's mean, standard deviation and four projections into `out` at `at`, in one pass. */
function summarise(
  data: ArrayLike<number>,
  start: number,
  width: number,
  w: Float32Array,
  out: Float64Array,
  at: number,
): void {
  let total = 0;
  let squares = 0;
  let p0 = 0;
  let p1 = 0;
  let p2 = 0;
  let p3 = 0;
  for (let j = 0; j < width; j++) {
    const v = data[start + j] as number;
    total += v;
    squares += v * v;
    p0 += (w[j] as number) * v;
    p1 += (w[width + j] as number) * v;
    p2 += (w[2 * width + j] as number) * v;
    p3 += (w[3 * width + j] as number) * v;
  }
  const mean = total / width;
  out[at] = mean;
  out[at + 1] = Math.sqrt(Math.max(0, squares / width - mean * mean));
  out[at + 2] = p0;
  out[at + 3] = p1;
  out[at + 4] = p2;
  out[at + 5] = p3;
}

/** Rows in a tensor: its first dimension (1 for a scalar). */
export function rowsOf(tensor: TensorLike): number {
  return tensor.shape.length === 0 ? 1 : (tensor.shape[0] as number);
}

/**
 * Reads rows of tensors as feature values: numeric ones into a reused `Float64Array`, categorical ones (as
 * strings) into a reused array. One extractor per feature layout; not re-entrant.
 */
export class FeatureExtractor {
  readonly sources: readonly FeatureSource[];
  readonly numericNames: readonly string[];
  readonly categoricalNames: readonly string[];
  readonly #numeric: Float64Array;
  readonly #categorical: string[];
  readonly #projections: Map<number, Float32Array> = new Map();

  constructor(sources: readonly FeatureSource[]) {
    this.sources = sources;
    const numeric: string[] = [];
    const categorical: string[] = [];
    for (const s of sources) {
      const names = featureNames(s);
      numeric.push(...names.numeric);
      categorical.push(...names.categorical);
      if (s.summaries && !this.#projections.has(s.width)) this.#projections.set(s.width, projectionWeights(s.width));
    }
    this.numericNames = numeric;
    this.categoricalNames = categorical;
    this.#numeric = new Float64Array(numeric.length);
    this.#categorical = new Array<string>(categorical.length).fill('');
  }

  /**
   * Calls `visit` once per row present in every source tensor (inputs and outputs of one request), with that
   * row's values. Rows whose tensors are missing or of another width are skipped: the count of rows read is returned.
   */
  extract(
    tensors: Readonly<Record<string, TensorLike | undefined>>,
    visit: (numeric: Float64Array, categorical: readonly string[]) => void,
  ): number {
    let rows = Infinity;
    for (const s of this.sources) {
      const t = tensors[s.tensor];
      if (t === undefined || t.data.length !== rowsOf(t) * s.width) return 0;
      rows = Math.min(rows, rowsOf(t));
    }
    if (!Number.isFinite(rows)) return 0;
    for (let r = 0; r < rows; r++) {
      let n = 0;
      let c = 0;
      for (const s of this.sources) {
        const data = (tensors[s.tensor] as TensorLike).data as ArrayLike<unknown>;
        const start = r * s.width;
        if (s.kind === 'categorical') {
          for (let j = 0; j < s.width; j++) this.#categorical[c++] = String(data[start + j]);
          continue;
        }
        // Numeric sources are never 64-bit integers (those are categorical), so elements are plain numbers.
        const values = data as ArrayLike<number>;
        const best = readNumeric(values, start, s.width, this.#numeric, n);
        n += s.width;
        if (s.summaries) {
          summarise(values, start, s.width, this.#projections.get(s.width) as Float32Array, this.#numeric, n);
          n += 2 + PROJECTIONS;
        }
        if (s.argmax) this.#categorical[c++] = String(best);
      }
      visit(this.#numeric, this.#categorical);
    }
    return rows;
  }
}
