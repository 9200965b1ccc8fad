/**
 * Threads that fit the machine: by default a model's workers × intra-op threads never exceed the cores, and a
 * caller who picks the threads per session gets as many workers as fit. Real pools on a real model.
 */
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadModel, silentLogger } from 'modelship';
import {
  defaultIntraOpThreads,
  defaultWorkerCount,
  defaultWorkerNice,
} from '../../../src/backends/onnx-node/worker-start.js';
import { addOneModel } from '../../helpers/models.js';

const cores = availableParallelism();

describe('thread policy', () => {
  it('by default: one worker per core, each with cores / workers intra-op threads, never more threads than cores', () => {
    expect(defaultWorkerCount()).toBe(cores);
    for (const workers of [1, 2, 3, cores, 2 * cores]) {
      const threads = defaultIntraOpThreads(workers);
      expect(threads).toBeGreaterThanOrEqual(1);
      if (workers <= cores) expect(workers * threads).toBeLessThanOrEqual(cores);
    }
  });

  it('given intra-op threads per session, as many workers as fit the cores (at least one)', () => {
    expect(defaultWorkerCount(1)).toBe(cores);
    expect(defaultWorkerCount(cores)).toBe(1);
    expect(defaultWorkerCount(cores * 4)).toBe(1);
    if (cores >= 2) expect(defaultWorkerCount(2) * 2).toBeLessThanOrEqual(cores);
  });

  it('workers run a little below the event loop (1 nice level with several cores), not 10', () => {
    expect(defaultWorkerNice()).toBe(cores > 1 ? 1 : 0);
  });

  it('a model loaded with intraOpNumThreads = cores gets one worker; with defaults one per core', async () => {
    const wide = await loadModel(addOneModel(), { session: { intraOpNumThreads: cores }, logger: silentLogger });
    await wide.ready();
    expect(wide.stats().concurrency).toBe(1);
    expect(Array.from((await wide.predict([[1, 2, 3, 4]])).y?.data as Float32Array)).toEqual([2, 3, 4, 5]);
    await wide.close();
    const plain = await loadModel(addOneModel(), { logger: silentLogger });
    await plain.ready();
    expect(plain.stats().concurrency).toBe(cores);
    await plain.close();
  });
});
