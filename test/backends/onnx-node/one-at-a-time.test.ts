/**
 * Beside models already serving, a pool loads and releases one worker thread at a time (worker-pool.ts,
 * #oneAtATime): all of a pool's threads busy at once plus the event loop are more runnable threads than cores,
 * and the event loop answering the other models then waits for a scheduler slice. A process loading its only
 * model starts all its workers together. Workers started are counted by thread id: node numbers every Worker
 * it creates, so a probe thread made before and after tells how many were created between.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { loadModel, silentLogger } from 'modelship';
import { inTurnsOrTogether } from '../../../src/backends/onnx-node/pool-start.js';
import { stopSpares } from '../../../src/backends/onnx-node/spare-workers.js';
import { addOneModel } from '../../helpers/models.js';

async function nextThreadId(): Promise<number> {
  const probe = new Worker('', { eval: true });
  const id = probe.threadId;
  await probe.terminate();
  return id;
}

/** How many worker threads `work` creates. */
async function threadsCreatedBy(work: () => Promise<unknown>): Promise<number> {
  const before = await nextThreadId();
  await work();
  return (await nextThreadId()) - before - 1;
}

const truncated = (): Uint8Array => addOneModel().slice(0, 40);

afterEach(stopSpares);

describe('loading beside models that serve', () => {
  it('runs steps one after another when asked, together otherwise, and settles every one', async () => {
    for (const oneAtATime of [true, false]) {
      let running = 0;
      let most = 0;
      const step = (fail: boolean) => async (): Promise<number> => {
        most = Math.max(most, ++running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        if (fail) throw new Error('step failed');
        return 1;
      };
      const settled = await inTurnsOrTogether([step(false), step(true), step(false)], oneAtATime);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(most).toBe(oneAtATime ? 1 : 3);
    }
  });

  it('alone, a pool starts its workers together; beside a serving model, one at a time, stopping at the first failure', async () => {
    await stopSpares();
    // Thread ids one worker takes (under a loader such as tsx, each worker has a hooks thread too).
    const perWorker = await threadsCreatedBy(async () => {
      const one = await loadModel(addOneModel(), { logger: silentLogger, workers: 1, inline: false });
      await one.ready();
      await one.close();
      await stopSpares();
    });
    expect(perWorker).toBeGreaterThanOrEqual(1);
    const refused = (): Promise<unknown> =>
      expect(loadModel(truncated(), { logger: silentLogger, workers: 2 })).rejects.toMatchObject({
        code: 'MODEL_LOAD_FAILED',
      });
    // Alone: both threads start at once, and both fail.
    expect(await threadsCreatedBy(refused)).toBe(2 * perWorker);

    const serving = await loadModel(addOneModel(), { logger: silentLogger, workers: 1, inline: false });
    await serving.ready();
    try {
      // Beside it: the first thread fails to open the model, so the second is never started.
      expect(await threadsCreatedBy(refused)).toBe(perWorker);
      // A good model loads on both threads one after the other, and both answer.
      const next = await loadModel(addOneModel(), { logger: silentLogger, workers: 2, inline: false });
      await next.ready();
      const outs = await Promise.all(
        [1, 5].map((v) => next.predict({ x: { data: new Float32Array([v, v, v, v]), shape: [1, 4] } })),
      );
      expect(outs.map((o) => Array.from(o.y?.data as Float32Array))).toEqual([
        [2, 2, 2, 2],
        [6, 6, 6, 6],
      ]);
      await next.close();
      expect(
        Array.from(
          (await serving.predict({ x: { data: new Float32Array(4), shape: [1, 4] } })).y?.data as Float32Array,
        ),
      ).toEqual([1, 1, 1, 1]);
    } finally {
      await serving.close();
    }
  });
});
