/**
 * Work-conserving dispatch: no worker idles while requests wait. Driven by an executor released by hand, so
 * every assertion is about which batches went to which worker, never about time.
 */
import { describe, expect, it } from 'vitest';
import { Batcher, type BatchGainPoint } from '../../../src/serving/batching/index.js';
import type { TensorLike } from '../../../src/spec/tensor.js';
import { config, ManualExecutor, row, settle } from './manual-executor.js';

const answer = (out: Record<string, TensorLike>): number => (out.y?.data as Float32Array)[0] as number;

/** A curve where batching gains `gain`× at 8 rows (per-row time falls linearly in between). */
function curve(gain: number): BatchGainPoint[] {
  return [1, 2, 4, 8].map((rows) => {
    const ms = (rows * 1) / (1 + ((gain - 1) * (rows - 1)) / 7);
    return { rows, ms, rowsPerSecond: (rows * 1000) / ms, gain: rows / ms, source: 'warm-up' as const };
  });
}

describe('work-conserving dispatch', () => {
  it('with two workers, 8 queued requests and a queue delay, both workers get a batch at once', async () => {
    const exec = new ManualExecutor(2);
    const batcher = new Batcher(exec, config({ maxBatchSize: 8, maxQueueDelayMs: 60_000 }));
    const pending = Array.from({ length: 8 }, (_, r) => batcher.submit(row(r)));
    const calls = await exec.started(2);
    expect(calls.map((c) => c.rows)).toEqual([4, 4]);
    expect(exec.perSlot()).toEqual([1, 1]);
    for (const c of calls) c.release();
    expect((await Promise.all(pending)).map(answer)).toEqual([0, 10, 20, 30, 40, 50, 60, 70]);
  });

  it('when the delay runs out on a batch that is not full, the rows are shared among the free workers', async () => {
    const exec = new ManualExecutor(2);
    const batcher = new Batcher(exec, config({ maxBatchSize: 8, maxQueueDelayMs: 5 }));
    const pending = Array.from({ length: 6 }, (_, r) => batcher.submit(row(r)));
    await settle();
    expect(exec.calls).toHaveLength(0); // holding for a fuller batch while under the delay
    const calls = await exec.started(2); // the delay's timer dispatches
    expect(calls.map((c) => c.rows)).toEqual([3, 3]);
    expect(exec.perSlot()).toEqual([1, 1]);
    for (const c of calls) c.release();
    expect((await Promise.all(pending)).map(answer)).toEqual([0, 10, 20, 30, 40, 50]);
  });

  it('a worker that frees up takes what queued meanwhile, while the other is still busy', async () => {
    const exec = new ManualExecutor(2);
    const batcher = new Batcher(exec, config({ maxBatchSize: 8 }));
    const first = [batcher.submit(row(0)), batcher.submit(row(1))];
    const [a, b] = await exec.started(2);
    const queued = Array.from({ length: 5 }, (_, r) => batcher.submit(row(r + 2)));
    await settle();
    expect(exec.calls).toHaveLength(2); // both busy: the five wait
    a?.release();
    const [, , third] = await exec.started(3);
    expect(third?.rows).toBe(5);
    expect(third?.slot).toBe(a?.slot);
    b?.release();
    third?.release();
    await Promise.all([...first, ...queued]);
  });

  it('does not apply a configured queue delay when the measured curve says batching barely pays', async () => {
    const exec = new ManualExecutor(2);
    const batcher = new Batcher(
      exec,
      config({ maxBatchSize: 8, maxQueueDelayMs: 60_000, adaptive: { maxBatchSize: 8, maxQueueDelayMs: 60_000 } }),
    );
    batcher.tuner?.adopt(curve(1.06));
    const stats = batcher.batchingStats();
    expect(stats).toMatchObject({ source: 'auto', mode: 'split', maxQueueDelayMs: 0, maxBatchSize: 8 });
    expect(stats.reason).toMatch(/60000 ms queue delay is not applied/);
    const pending = [0, 1, 2].map((r) => batcher.submit(row(r)));
    const calls = await exec.started(2); // at once, not after 60 s
    expect(calls.map((c) => c.rows)).toEqual([2, 1]);
    for (const c of calls) c.release();
    expect((await Promise.all(pending)).map(answer)).toEqual([0, 10, 20]);
  });

  it('keeps the configured delay when the measured curve says batching pays (join), and still fills both workers', async () => {
    const exec = new ManualExecutor(2);
    const batcher = new Batcher(
      exec,
      config({ maxBatchSize: 8, maxQueueDelayMs: 60_000, adaptive: { maxQueueDelayMs: 60_000 } }),
    );
    batcher.tuner?.adopt(curve(4));
    expect(batcher.batchingStats()).toMatchObject({ mode: 'join', maxQueueDelayMs: 60_000, maxBatchSize: 8 });
    const first = batcher.submit(row(0));
    await settle();
    expect(exec.calls).toHaveLength(0); // waiting for a fuller batch
    const rest = Array.from({ length: 15 }, (_, r) => batcher.submit(row(r + 1)));
    const calls = await exec.started(2); // 16 rows: two full batches, one per worker
    expect(calls.map((c) => c.rows)).toEqual([8, 8]);
    for (const c of calls) c.release();
    await Promise.all([first, ...rest]);
  });
});
