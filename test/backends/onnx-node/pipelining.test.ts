/**
 * A pool worker takes its next run while it executes one (two lanes per channel): runs queued behind another
 * are answered in order and correctly, an error in one lane leaves the other alone, a bigger tensor grows its
 * lane's arena, and a run queued behind one whose worker dies goes to the replacement instead of failing.
 * Real workers, real models.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createOnnxNodeBackend } from '../../../src/backends/onnx-node/index.js';
import type { WorkerPoolSession } from '../../../src/backends/onnx-node/worker-pool.js';
import type { TensorLike } from '../../../src/spec/tensor.js';
import { addOneModel, slowModel } from '../../helpers/models.js';
import { rejection } from '../../helpers/errors.js';

const sessions: WorkerPoolSession[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.release()));
});

async function pool(bytes: Uint8Array): Promise<WorkerPoolSession> {
  const session = (await createOnnxNodeBackend().createSession(
    { bytes },
    { workers: 1, intraOpNumThreads: 1, inline: false },
  )) as WorkerPoolSession;
  sessions.push(session);
  return session;
}

const rows = (n: number, width: number, value: (row: number) => number): TensorLike => ({
  dtype: 'float32',
  shape: [n, width],
  data: Float32Array.from({ length: n * width }, (_, i) => value(Math.floor(i / width))),
});

describe('pipelined worker runs', () => {
  it('a busy worker takes one run behind its current one; every run is answered, in order, with its own result', async () => {
    const session = await pool(slowModel());
    expect(session.pipelineDepth).toBe(2);
    const finished: number[] = [];
    // Three at once on one worker: one runs, one waits in the worker's second lane, one waits in the pool.
    const runs = [64, 1, 3].map((n, k) =>
      session.run({ x: rows(n, 512, (r) => k * 100 + r) }).then((out) => {
        finished.push(k);
        return out;
      }),
    );
    const outs = await Promise.all(runs);
    expect(finished).toEqual([0, 1, 2]);
    outs.forEach((out, k) => {
      const y = out.y as TensorLike;
      expect(y.shape[0]).toBe([64, 1, 3][k]);
      expect((y.data as Float32Array)[0]).toBe(k * 100);
      expect((y.data as Float32Array)[y.data.length - 1]).toBe(k * 100 + (y.shape[0] as number) - 1);
    });
  });

  it('an error in one lane fails that run only; a bigger tensor in the other lane grows its arena', async () => {
    const session = await pool(addOneModel());
    const big = rows(40_000, 4, (r) => r % 1000); // 640 KB: more than a lane's first arena
    const [bad, good, after] = [
      rejection(session.run({ x: rows(2, 3, () => 1) })), // 3 columns where the model has 4
      session.run({ x: big }),
      session.run({ x: rows(1, 4, () => 41) }),
    ];
    expect((await bad).code).toBe('INVALID_INPUT');
    const y = (await good).y as TensorLike;
    expect(y.shape).toEqual([40_000, 4]);
    expect((y.data as Float32Array)[4 * 1999]).toBe(1000);
    expect(Array.from((await after).y?.data as Float32Array)).toEqual([42, 42, 42, 42]);
  });

  it('a run queued behind one whose worker dies is not failed: the replacement worker answers it', async () => {
    const session = await pool(slowModel());
    const exited = session.crashWorkerForTesting(0);
    // The first is picked up by the worker, which exits; the second sits behind it, never started.
    const running = rejection(session.run({ x: rows(128, 512, () => 1) }));
    const queued = session.run({ x: rows(2, 512, (r) => r + 5) });
    expect(await exited).toBe(70);
    expect((await running).code).toBe('WORKER_CRASHED');
    const y = (await queued).y as TensorLike;
    expect(Array.from((y.data as Float32Array).subarray(0, 2))).toEqual([5, 5]);
    expect((y.data as Float32Array)[512]).toBe(6);
  }, 60_000);
});
