/**
 * A model file loaded again (a repository reloading an evicted model) reuses the batch-gain curve measured
 * for it earlier in the process, instead of taking ~300 ms of full-speed runs from the models already serving.
 * Another setup (session options) measures anew. Real models, real pools.
 */
import { describe, expect, it } from 'vitest';
import { loadModel, silentLogger } from 'modelship';
import { tinyMnist } from '../helpers/models.js';

describe('batch-gain curve reuse', () => {
  it('the same file and setup reuse the curve; other session options measure again', async () => {
    const { onnx } = tinyMnist();
    const first = await loadModel(onnx, { logger: silentLogger });
    await first.ready();
    const measured = first.stats().batching.curve;
    expect(measured.length).toBeGreaterThan(1);
    await first.close();

    const again = await loadModel(onnx, { logger: silentLogger });
    await again.ready();
    // The very same points: timings measured twice never agree to the last bit.
    expect(again.stats().batching.curve).toEqual(measured);
    expect(again.stats().batching.maxBatchSize).toBe(first.stats().batching.maxBatchSize);
    await again.close();

    const other = await loadModel(onnx, { logger: silentLogger, session: { graphOptimizationLevel: 'basic' } });
    await other.ready();
    expect(other.stats().batching.curve.length).toBeGreaterThan(1);
    expect(other.stats().batching.curve).not.toEqual(measured);
    await other.close();
  });
});
