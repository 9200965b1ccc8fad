/**
 * Adaptive batching: the choice made from a batch-gain curve, explicit settings winning, live re-measurement,
 * and the warm-up measurement on a real model run by onnxruntime-node (measured once, bounded).
 */
import { describe, expect, it } from 'vitest';
import { loadModel, silentLogger } from 'modelship';
import {
  BATCHING_DEFAULTS,
  batchingOptionsSchema,
  BatchTuner,
  chooseBatching,
  measureBatchCurve,
  resolveBatching,
  tileRows,
  type BatchGainPoint,
  type BatchingChoice,
} from '../../../src/serving/batching/index.js';
import { tinyMnist } from '../../helpers/models.js';

/** A curve from run times in ms at 1, 2, 4, 8 … rows. */
function curveOf(ms: readonly number[]): BatchGainPoint[] {
  return ms.map((t, i) => {
    const rows = 2 ** i;
    return { rows, ms: t, rowsPerSecond: (rows * 1000) / t, gain: (rows * (ms[0] as number)) / t, source: 'warm-up' };
  });
}

const flat = curveOf([1, 1.9, 3.6, 7.5]); // a small CNN: batches gain at most 1.11×
const steep = curveOf([0.05, 0.055, 0.06, 0.07, 0.09, 0.13, 0.2]); // a tiny MLP: per-call overhead is everything

describe('chooseBatching', () => {
  it('a model that gains little from batching gets small batches, no queue delay, and split dispatch', () => {
    const c = chooseBatching(flat, { maxRowsCap: 64 });
    expect(c).toMatchObject({ mode: 'split', maxQueueDelayMs: 0 });
    expect(c.maxBatchSize).toBeLessThanOrEqual(8);
    expect(c.reason).toMatch(/no queue delay: batching gains at most 1\.11×/);
  });

  it('a model whose per-call overhead dominates gets the batch size where the gain levels off', () => {
    const c = chooseBatching(steep, { maxRowsCap: 64 });
    expect(c.maxBatchSize).toBe(64);
    expect(c.bestGain).toBeGreaterThan(10);
    // No latency budget given: nothing is held back for a fuller batch.
    expect(c).toMatchObject({ mode: 'split', maxQueueDelayMs: 0 });
  });

  it('with a p99 budget, batches whose run exceeds half of it are not chosen, and a delay is chosen when batching pays', () => {
    const c = chooseBatching(steep, { maxRowsCap: 64, p99BudgetMs: 0.3 });
    expect(c.maxBatchSize).toBe(32); // 64 rows take 0.2 ms, more than half the budget
    expect(c.mode).toBe('join');
    expect(c.maxQueueDelayMs).toBeGreaterThan(0);
    expect(c.maxQueueDelayMs).toBeLessThanOrEqual(0.3 / 4);
  });

  it('a model too slow to measure beyond single rows keeps the default batch size and says why', () => {
    const c = chooseBatching(curveOf([400]), { maxRowsCap: 64 });
    expect(c).toMatchObject({ maxBatchSize: 64, maxQueueDelayMs: 0, mode: 'split' });
    expect(c.reason).toMatch(/one run takes 400 ms, too long to measure bigger batches/);
  });

  it('explicit settings win over the measurement', () => {
    const c = chooseBatching(steep, { maxRowsCap: 64, maxBatchSize: 3, maxQueueDelayMs: 2 });
    expect(c).toMatchObject({ maxBatchSize: 3, maxQueueDelayMs: 2, mode: 'join' });
    expect(c.reason).toMatch(/maxBatchSize 3 as configured; queue delay 2 ms as configured/);
  });
});

describe('batching options', () => {
  it("'auto' is the default; what is given explicitly is kept, the rest left to the measurement", () => {
    expect(resolveBatching(undefined, true).adaptive).toEqual({
      maxBatchSize: undefined,
      maxQueueDelayMs: undefined,
      p99BudgetMs: undefined,
    });
    expect(resolveBatching('auto', true)).toMatchObject({ maxBatchSize: BATCHING_DEFAULTS.maxBatchSize });
    const explicit = resolveBatching(batchingOptionsSchema.parse({ maxBatchSize: 3, p99BudgetMs: 20 }), true);
    expect(explicit).toMatchObject({ maxBatchSize: 3, adaptive: { maxBatchSize: 3, p99BudgetMs: 20 } });
    expect(resolveBatching({ adaptive: false }, true).adaptive).toBeUndefined();
    expect(resolveBatching(false, true)).toMatchObject({ enabled: false });
    expect(resolveBatching('auto', false).adaptive).toBeUndefined(); // not batchable: nothing to measure
  });

  it('loadModel refuses a bad budget or mode with INVALID_OPTIONS naming the key, before loading anything', async () => {
    for (const batching of [{ p99BudgetMs: -5 }, { p99BudgetMs: Number.NaN }, 'fast', { adaptive: 'yes' }]) {
      const error = await loadModel(tinyMnist().onnx, { batching } as never).then(
        () => undefined,
        (e: unknown) => e as { code: string; message: string },
      );
      expect(error?.code, JSON.stringify(batching)).toBe('INVALID_OPTIONS');
      expect(error?.message).toMatch(/batching/);
    }
  });

  it('refuses a budget that is not a positive number, and unknown modes', () => {
    expect(batchingOptionsSchema.safeParse({ p99BudgetMs: 0 }).success).toBe(false);
    expect(batchingOptionsSchema.safeParse({ p99BudgetMs: 'fast' }).success).toBe(false);
    expect(batchingOptionsSchema.safeParse('adaptive').success).toBe(false);
    expect(batchingOptionsSchema.safeParse(true).success).toBe(false);
  });
});

describe('BatchTuner', () => {
  const make = (): { tuner: BatchTuner; applied: BatchingChoice[] } => {
    const applied: BatchingChoice[] = [];
    const initial: BatchingChoice = { maxBatchSize: 64, maxQueueDelayMs: 0, mode: 'split', bestGain: 1, reason: '' };
    const tuner = new BatchTuner({ maxRowsCap: 64 }, initial, (c) => applied.push(c));
    return { tuner, applied };
  };

  it('keeps its choice while live batches run as the curve says', () => {
    const { tuner, applied } = make();
    tuner.adopt(flat);
    for (let i = 0; i < 1024; i++) tuner.observe(2, 1.9 * (i % 2 ? 1.1 : 0.9));
    expect(applied).toHaveLength(1);
    expect(tuner.stats().remeasured).toBe(0);
  });

  it('takes the live figures and chooses again when bigger batches stop gaining what the curve says', () => {
    const { tuner, applied } = make();
    tuner.adopt(steep);
    expect(tuner.stats().maxBatchSize).toBe(64);
    // Live: single rows as measured, but 8 rows now cost 8 times one (another input size, say).
    for (let i = 0; i < 512; i++) tuner.observe(i % 2 ? 1 : 8, i % 2 ? 0.05 : 0.4);
    expect(tuner.stats().remeasured).toBe(1);
    expect(applied).toHaveLength(2);
    expect(tuner.stats().curve.find((p) => p.rows === 8)).toMatchObject({ source: 'live', ms: 0.4 });
    // And then waits: the next 2048 batches are the new choice's own.
    for (let i = 0; i < 1024; i++) tuner.observe(i % 2 ? 1 : 16, i % 2 ? 0.05 : 2);
    expect(tuner.stats().remeasured).toBe(1);
  });

  it('all runs slower by the same factor (a busy machine) changes nothing without a latency budget, and re-measures with one', () => {
    const { tuner } = make();
    tuner.adopt(steep);
    for (let i = 0; i < 1024; i++) tuner.observe(i % 2 ? 1 : 8, i % 2 ? 0.1 : 0.14);
    expect(tuner.stats().remeasured).toBe(0);
    const initial: BatchingChoice = { maxBatchSize: 64, maxQueueDelayMs: 0, mode: 'split', bestGain: 1, reason: '' };
    const budgeted = new BatchTuner({ maxRowsCap: 64, p99BudgetMs: 1 }, initial, () => undefined);
    budgeted.adopt(steep);
    for (let i = 0; i < 1024; i++) budgeted.observe(i % 2 ? 1 : 8, i % 2 ? 0.1 : 0.14);
    expect(budgeted.stats().remeasured).toBe(1);
  });

  it('ignores live batches bigger than anything measured (no basis to compare)', () => {
    const { tuner } = make();
    tuner.adopt(flat);
    for (let i = 0; i < 1024; i++) tuner.observe(200, 500);
    expect(tuner.stats().remeasured).toBe(0);
  });
});

describe('measureBatchCurve', () => {
  it('tries sizes 1, 2, 4 … up to the limit, on copies of the first row of the input', async () => {
    const seen: number[][] = [];
    const sample = { x: { dtype: 'float32' as const, shape: [3, 2], data: Float32Array.of(1, 2, 9, 9, 9, 9) } };
    const points = await measureBatchCurve(
      async (feeds) => {
        const x = feeds.x!;
        seen.push([x.shape[0] as number, ...Array.from(x.data as Float32Array).slice(0, 4)]);
      },
      sample,
      { maxRows: 12, budgetMs: 10_000 },
    );
    // A prefix of the ladder (it stops early once bigger batches lose), ending on the limit itself.
    const rows = points.map((p) => p.rows);
    expect(rows).toEqual([1, 2, 4, 8, 12].slice(0, rows.length));
    expect(new Set(seen.map((s) => s[0]))).toEqual(new Set(rows));
    expect(tileRows(sample, 2).x?.data).toEqual(Float32Array.of(1, 2, 1, 2));
    // Bounded: a few runs per size (one untimed, 3 to 9 timed).
    expect(seen.length).toBeLessThanOrEqual(rows.length * 10);
    expect(seen.length).toBeGreaterThanOrEqual(rows.length * 4);
    expect(tileRows(sample, 2).x?.shape).toEqual([2, 2]);
  });
});

describe('adaptive batching on a real model', () => {
  it('measures the curve once at warm-up, within the configured bounds, and explains its choice in stats()', async () => {
    const { onnx } = tinyMnist();
    const model = await loadModel(onnx, { name: 'mnist', workers: 1, logger: silentLogger });
    await model.ready();
    const stats = model.stats().batching;
    expect(stats.source).toBe('auto');
    expect(stats.curve.length).toBeGreaterThan(0);
    for (const p of stats.curve) {
      expect(p.source).toBe('warm-up');
      expect(p.rows).toBeLessThanOrEqual(BATCHING_DEFAULTS.maxBatchSize);
      expect(Math.log2(p.rows) % 1).toBe(0);
    }
    expect(model.batching.maxBatchSize).toBe(stats.maxBatchSize);
    expect(stats.reason).toMatch(/maxBatchSize \d+/);
    const before = stats.curve;
    const row = new Float32Array(784).fill(0.5);
    await Promise.all(Array.from({ length: 64 }, () => model.predict([Array.from(row)])));
    expect(model.stats().batching.curve).toEqual(before); // not measured again without a change of load
    await model.close();

    const fixed = await loadModel(onnx, {
      name: 'mnist',
      workers: 1,
      batching: { maxBatchSize: 4, maxQueueDelayMs: 1 },
      logger: silentLogger,
    });
    await fixed.ready();
    const f = fixed.stats().batching;
    expect(f.maxBatchSize).toBe(4);
    expect(Math.max(...f.curve.map((p) => p.rows))).toBeLessThanOrEqual(4);
    await fixed.close();

    const cold = await loadModel(onnx, { name: 'mnist', workers: 1, warmup: false, logger: silentLogger });
    await cold.ready();
    expect(cold.stats().batching.curve).toEqual([]); // warm-up off: the model is not run before requests
    expect(cold.stats().batching.reason).toMatch(/warm-up is off/);
    await cold.close();
  });
});
