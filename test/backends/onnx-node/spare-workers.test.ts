/**
 * Worker threads outlive their model (spare-workers.ts): a released pool's threads serve the next model the
 * process loads, without starting new ones; only at the same nice level; a spare that fails to open the next
 * model is stopped and the load fails as it would on a new thread. Real threads, counted in /proc.
 */
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadModel, silentLogger, type ServableModel } from 'modelship';
import { spareCount, sparesWithMemory, stopSpares } from '../../../src/backends/onnx-node/spare-workers.js';
import { writeOnnxModel } from '../../../examples/shared/onnx-writer.js';
import { addOneModel, tinyMnist } from '../../helpers/models.js';

/** y = x + 1 on float32 [batch, width]. */
function wideAddOne(width: number): Uint8Array {
  return writeOnnxModel({
    name: 'wide_add_one',
    inputs: [{ name: 'x', type: 'float32', shape: ['batch', width] }],
    outputs: [{ name: 'y', type: 'float32', shape: ['batch', width] }],
    initializers: [{ name: 'one', dims: [], data: new Float32Array([1]) }],
    nodes: [{ op: 'Add', inputs: ['x', 'one'], outputs: ['y'] }],
  });
}

const threads = (): Set<string> => new Set(readdirSync('/proc/self/task'));
const newThreads = (before: Set<string>): string[] => [...threads()].filter((t) => !before.has(t));

afterEach(stopSpares);

describe.runIf(process.platform === 'linux')('spare worker threads', () => {
  it("a released model's threads serve the next model loaded, which starts no thread of its own", async () => {
    await stopSpares();
    const first = await loadModel(tinyMnist().onnx, { logger: silentLogger, workers: 2, inline: false });
    await first.ready();
    await first.close();
    expect(spareCount()).toBe(2);

    const before = threads();
    const next = await loadModel(addOneModel(), { logger: silentLogger, workers: 2, inline: false });
    await next.ready();
    expect(spareCount()).toBe(0);
    // Two runs at once, so both threads answer with the new model.
    const outs = await Promise.all([
      next.predict({ x: { data: new Float32Array([1, 2, 3, 4]), shape: [1, 4] } }),
      next.predict({ x: { data: new Float32Array([5, 6, 7, 8]), shape: [1, 4] } }),
    ]);
    expect(outs.map((o) => Array.from(o.y?.data as Float32Array))).toEqual([
      [2, 3, 4, 5],
      [6, 7, 8, 9],
    ]);
    // onnxruntime may start a helper thread of its own; no worker thread (a V8 isolate and its helpers) started.
    expect(newThreads(before).length).toBeLessThanOrEqual(1);
    await next.close();
    expect(spareCount()).toBe(2);
  });

  it("keeps a spare's channel memory for its next model, grown arenas too, but not arenas over 1 MiB", async () => {
    await stopSpares();
    const call = async (model: ServableModel, width: number, n: number, from: number): Promise<void> => {
      const rows = Float32Array.from({ length: n * width }, (_, i) => from + i);
      const out = await model.predict({ x: { data: rows, shape: [n, width] } });
      expect(out.y?.data).toEqual(rows.map((v) => v + 1));
    };
    const options = { logger: silentLogger, workers: 1, inline: false } as const;
    // Warm-up measures batches of up to 64 rows: 256 KiB each way, so both lanes' arenas grow past 64 KiB.
    const first = await loadModel(wideAddOne(1024), options);
    await first.ready();
    await call(first, 1024, 1, 0);
    await call(first, 1024, 4, 3);
    await first.close();
    expect(sparesWithMemory()).toBe(1);

    // The next model runs in the same memory, from its first call (the last channel's stamps must not pass
    // for its own) to one larger than the arenas it was given: 40 rows of 32 KiB, more than a spare keeps.
    const next = await loadModel(wideAddOne(8192), { ...options, batching: { maxBatchSize: 64, maxQueueDelayMs: 0 } });
    await next.ready();
    expect(spareCount()).toBe(0);
    for (const [n, from] of [
      [1, 7],
      [2, 9],
      [40, 11],
      [3, 15],
    ] as const)
      await call(next, 8192, n, from);
    await next.close();
    expect(spareCount()).toBe(1);
    expect(sparesWithMemory()).toBe(0);

    const third = await loadModel(wideAddOne(1024), options);
    await third.ready();
    await call(third, 1024, 2, 17);
    await third.close();
  });

  it('hands a spare on only at the same nice level and scheduling policy', async () => {
    await stopSpares();
    const atDefault = await loadModel(addOneModel(), { logger: silentLogger, workers: 2, inline: false });
    await atDefault.ready();
    await atDefault.close();
    expect(spareCount()).toBe(2);
    const lower = await loadModel(addOneModel(), { logger: silentLogger, workers: 2, workerNice: 5, inline: false });
    await lower.ready();
    expect(spareCount()).toBe(2); // its threads are new ones, at nice 5
    await lower.close();
    expect(spareCount()).toBe(2); // one per core at most
    await stopSpares();
    const batch = await loadModel(addOneModel(), { logger: silentLogger, workers: 2, inline: false });
    await batch.ready();
    await batch.close();
    expect(spareCount()).toBe(2);
    const normal = await loadModel(addOneModel(), {
      logger: silentLogger,
      workers: 2,
      workerScheduling: 'normal',
      inline: false,
    });
    await normal.ready();
    expect(spareCount()).toBe(2); // its threads are new ones, in the normal policy
    await normal.close();
  });

  it('a spare that cannot open the next model is stopped, and the load fails with MODEL_LOAD_FAILED', async () => {
    await stopSpares();
    const ok = await loadModel(addOneModel(), { logger: silentLogger, workers: 1, inline: false });
    await ok.ready();
    await ok.close();
    expect(spareCount()).toBe(1);
    const truncated = addOneModel().slice(0, 40);
    await expect(loadModel(truncated, { logger: silentLogger, workers: 1 })).rejects.toMatchObject({
      code: 'MODEL_LOAD_FAILED',
    });
    expect(spareCount()).toBe(0);
    const again = await loadModel(addOneModel(), { logger: silentLogger, workers: 1, inline: false });
    await again.ready();
    expect(
      Array.from((await again.predict({ x: { data: new Float32Array(4), shape: [1, 4] } })).y?.data as Float32Array),
    ).toEqual([1, 1, 1, 1]);
    await again.close();
  });
});
