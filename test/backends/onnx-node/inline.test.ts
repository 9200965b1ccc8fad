/**
 * Lone calls of a small model on the calling thread (inline-runner.ts): chosen by measurement after warm-up,
 * explained in `model.stats().execution`, answering exactly as the workers do, and off with `inline: false`.
 * Real pools, real models.
 */
import { describe, expect, it } from 'vitest';
import { loadModel, silentLogger, type Model } from 'modelship';
import { addOneModel, slowModel, tinyMnist } from '../../helpers/models.js';
import { INLINE_MAX_MS } from '../../../src/backends/onnx-node/inline-runner.js';

/** The choice must follow from the figures it reports, whichever way the measurement went. */
function expectConsistent(model: Model): void {
  const e = model.stats().execution;
  expect(e).toBeDefined();
  if (!e) return;
  expect(e.inlineMs).toBeGreaterThan(0);
  expect(e.workerMs).toBeGreaterThan(0);
  const qualifies = (e.inlineMs as number) <= INLINE_MAX_MS && (e.inlineMs as number) < (e.workerMs as number);
  expect(e.inline).toBe(qualifies);
  expect(e.reason).toMatch(e.inline ? /^Lone calls run on the calling thread/ : /^Calls stay on the workers/);
}

describe('inline lone calls', () => {
  it('a small model: measured after warm-up, and lone and concurrent calls answer as the workers do', async () => {
    const { onnx, test } = tinyMnist();
    const inline = await loadModel(onnx, { logger: silentLogger });
    const workers = await loadModel(onnx, { logger: silentLogger, inline: false });
    try {
      await Promise.all([inline.ready(), workers.ready()]);
      expectConsistent(inline);
      expect(workers.stats().execution).toEqual({ inline: false, reason: 'inline: false was set.' });
      const rows = Array.from({ length: 16 }, (_, i) => test.images.subarray(i * 784, (i + 1) * 784));
      // One at a time (lone calls), then all at once (concurrent: the workers take them).
      const lone = [];
      for (const row of rows) lone.push(await inline.predict(row));
      const together = await Promise.all(rows.map((row) => inline.predict(row)));
      const expected = await Promise.all(rows.map((row) => workers.predict(row)));
      for (let i = 0; i < rows.length; i++) {
        const want = Array.from((expected[i] as Record<string, { data: Float32Array }>).probabilities?.data ?? []);
        for (const got of [lone[i], together[i]]) {
          const data = Array.from((got as Record<string, { data: Float32Array }>).probabilities?.data ?? []);
          expect(data).toHaveLength(want.length);
          data.forEach((v, j) => expect(v).toBeCloseTo(want[j] as number, 6));
        }
      }
    } finally {
      await Promise.all([inline.close(), workers.close()]);
    }
  });

  it('a model whose run is long stays on the workers; the reason carries the figures', async () => {
    const model = await loadModel(slowModel(), { logger: silentLogger });
    try {
      await model.ready();
      expectConsistent(model);
      expect(model.stats().execution?.reason).toMatch(
        /\d+\.\d{3} ms on the calling thread and \d+\.\d{3} ms through a worker/,
      );
    } finally {
      await model.close();
    }
  });

  it('nothing to measure without warm-up: every call goes to the workers', async () => {
    const model = await loadModel(addOneModel(), { logger: silentLogger, warmup: false });
    try {
      await model.ready();
      expect(model.stats().execution).toMatchObject({ inline: false });
      const out = await model.predict([[1, 2, 3, 4]]);
      expect(Array.from((out as Record<string, { data: Float32Array }>).y?.data ?? [])).toEqual([2, 3, 4, 5]);
    } finally {
      await model.close();
    }
  });
});
