import { allocate } from '../../core/dtype.js';
import type { TensorLike, TensorStorage } from '../../spec/tensor.js';
import type { BatchGainPoint, Feeds } from './batcher-types.js';

/** Bounds of a calibration (warm-up measurement). */
export interface CurveLimits {
  /** Largest batch size to try (sizes go 1, 2, 4, … up to it). */
  readonly maxRows: number;
  /** Wall-clock budget of the whole measurement in ms; the ladder stops once it is spent. */
  readonly budgetMs: number;
  /** Stop before sizes whose single run exceeds this (a latency budget), in ms. */
  readonly maxRunMs?: number | undefined;
}

/** Default wall-clock budget of a calibration: a fraction of what loading a model costs anyway. */
export const CALIBRATION_BUDGET_MS = 300;

/** `rows` copies of the first row of every feed (the model's own input, repeated). */
export function tileRows(sample: Feeds, rows: number): Record<string, TensorLike> {
  const out: Record<string, TensorLike> = {};
  for (const name in sample) {
    const t = sample[name] as TensorLike;
    let stride = 1;
    for (let i = 1; i < t.shape.length; i++) stride *= t.shape[i] as number;
    const shape = t.shape.slice();
    shape[0] = rows;
    let data: TensorStorage;
    if (Array.isArray(t.data)) {
      const row = t.data.slice(0, stride);
      data = Array.from({ length: rows * stride }, (_, i) => row[i % stride] as string);
    } else {
      const typed = allocate(t.dtype, rows * stride) as Float32Array;
      const row = (t.data as Float32Array).subarray(0, stride);
      for (let r = 0; r < rows; r++) typed.set(row, r * stride);
      data = typed;
    }
    out[name] = { dtype: t.dtype, shape, data };
  }
  return out;
}

/** Builds a point from a size and its run time, relative to the single-row time `oneMs`. */
export function gainPoint(rows: number, ms: number, oneMs: number, source: BatchGainPoint['source']): BatchGainPoint {
  return { rows, ms, rowsPerSecond: (rows * 1000) / ms, gain: (rows * oneMs) / ms, source };
}

/**
 * Measures how a model's throughput grows with the batch size, on its own input. A first pass climbs sizes 1,
 * 2, 4, … (one untimed run each first: a new shape allocates, then 3 timed) and stops at `limits.maxRows`, when
 * a run exceeds `limits.maxRunMs`, or once bigger batches clearly lose (rows per second below 80 % of the best
 * so far, on runs over 2 ms). Further passes time every size again, in turns, so that a busy moment of the
 * machine lands on all sizes alike; each size keeps its fastest run (other processes only ever add time). At
 * most 9 timed runs per size, and no new pass once `limits.budgetMs` is spent.
 */
export async function measureBatchCurve(
  run: (feeds: Feeds) => Promise<unknown>,
  sample: Feeds,
  limits: CurveLimits,
): Promise<BatchGainPoint[]> {
  const started = performance.now();
  const timed = async (feeds: Feeds): Promise<number> => {
    const t0 = performance.now();
    await run(feeds);
    return performance.now() - t0;
  };
  const sizes: { rows: number; feeds: Feeds; best: number }[] = [];
  let bestRate = 0;
  for (let rows = 1; rows <= limits.maxRows; rows *= 2) {
    const feeds = tileRows(sample, rows);
    await run(feeds);
    // Up to 3 timed runs, fewer for a model whose runs would overrun the budget.
    let ms = await timed(feeds);
    for (let i = 1; i < 3 && performance.now() - started + ms < limits.budgetMs; i++)
      ms = Math.min(ms, await timed(feeds));
    sizes.push({ rows, feeds, best: ms });
    bestRate = Math.max(bestRate, rows / ms);
    // Bigger batches clearly lose, and trying them costs time (cheap sizes are always tried: noise there is large).
    if (rows / ms < 0.8 * bestRate && ms > 2) break;
    if (limits.maxRunMs !== undefined && ms > limits.maxRunMs) break;
    // The next size runs at least as long as this one, twice (untimed, then timed).
    if (performance.now() - started + 4 * ms > limits.budgetMs) break;
    if (rows < limits.maxRows && rows * 2 > limits.maxRows) rows = limits.maxRows / 2; // end on maxRows itself
  }
  for (let pass = 4; pass <= 9 && performance.now() - started < limits.budgetMs; pass++) {
    for (const size of sizes) size.best = Math.min(size.best, await timed(size.feeds));
  }
  const oneMs = (sizes[0] as { best: number }).best;
  return sizes.map((s) => gainPoint(s.rows, s.best, oneMs, 'warm-up'));
}
