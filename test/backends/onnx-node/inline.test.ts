/**
 * Lone calls of a small model on the calling thread (inline-runner.ts): nothing is opened at load; after a run
 * of lone calls the model is measured, the choice is explained in `model.stats().execution`, calls answer
 * exactly as the workers do, and `inline: false` turns it off. Real pools, real models.
 */
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadModel, silentLogger, type Model, type PredictInput } from 'modelship';
import { addOneModel, slowModel, tinyMnist } from '../../helpers/models.js';
import { INLINE_MAX_MS, LONE_CALLS_BEFORE_PROBE, PROBE_RUNS } from '../../../src/backends/onnx-node/inline-runner.js';

const NOT_MEASURED = /^Not measured yet/;

/** Lone calls, one after another, until the model has been measured (bounded: the probe runs in the background). */
async function callAloneUntilMeasured(model: Model, input: PredictInput): Promise<number> {
  let calls = 0;
  while (NOT_MEASURED.test(model.stats().execution?.reason ?? '') || calls < LONE_CALLS_BEFORE_PROBE) {
    await model.predict(input);
    if (++calls > 20_000) throw new Error('the model was never measured');
  }
  // The probe may still be running: wait for its verdict.
  for (let i = 0; i < 20_000 && !/^(Lone calls|Calls stay)/.test(model.stats().execution?.reason ?? ''); i++)
    await model.predict(input);
  return calls;
}

/** The choice must follow from the figures it reports, whichever way the measurement went. */
function expectConsistent(model: Model): void {
  const e = model.stats().execution;
  expect(e?.inlineMs).toBeGreaterThan(0);
  expect(e?.workerMs).toBeGreaterThan(0);
  if (!e?.inlineMs || !e.workerMs) return;
  expect(e.inline).toBe(e.inlineMs <= INLINE_MAX_MS && e.inlineMs < e.workerMs);
  expect(e.reason).toMatch(e.inline ? /^Lone calls run on the calling thread/ : /^Calls stay on the workers/);
  // The session kept, and the other one tried (with several cores, the other thread count).
  expect(e.reason).toMatch(
    availableParallelism() > 1
      ? /\d+\.\d{3} ms on the calling thread \((1 onnxruntime thread|\d+ onnxruntime threads); \d+\.\d{3} ms with \d+\) and \d+\.\d{3} ms through a worker/
      : /\d+\.\d{3} ms on the calling thread \(1 onnxruntime thread\) and \d+\.\d{3} ms through a worker/,
  );
  expect([1, availableParallelism()]).toContain(e.inlineThreads);
}

const probabilities = (out: unknown): number[] =>
  Array.from((out as Record<string, { data: Float32Array }>).probabilities?.data ?? []);

/** Sixteen real digits, and the MNIST model loaded twice: with inline lone calls (the default) and without. */
async function inlineAndWorkers(): Promise<{ rows: Float32Array[]; inline: Model; workers: Model }> {
  const { onnx, test } = tinyMnist();
  const rows = Array.from({ length: 16 }, (_, i) => test.images.slice(i * 784, (i + 1) * 784));
  const inline = await loadModel(onnx, { logger: silentLogger });
  const workers = await loadModel(onnx, { logger: silentLogger, inline: false });
  await Promise.all([inline.ready(), workers.ready()]);
  return { rows, inline, workers };
}

describe('inline lone calls', () => {
  it('nothing is measured at load; after a run of lone calls it is, and every answer matches the workers', async () => {
    const { rows, inline, workers } = await inlineAndWorkers();
    try {
      expect(inline.stats().execution).toMatchObject({ inline: false, reason: expect.stringMatching(NOT_MEASURED) });
      expect(workers.stats().execution).toEqual({
        inline: false,
        reason: 'inline: false was set.',
        batches: { inline: false, reason: 'inline: false was set.' },
      });
      // Concurrent calls never count as lone ones.
      for (let i = 0; i < LONE_CALLS_BEFORE_PROBE; i++) await Promise.all(rows.map((row) => inline.predict(row)));
      expect(inline.stats().execution?.reason).toMatch(NOT_MEASURED);
      expect(await callAloneUntilMeasured(inline, rows[0] as Float32Array)).toBeGreaterThanOrEqual(
        LONE_CALLS_BEFORE_PROBE,
      );
      expectConsistent(inline);
      const expected = await Promise.all(rows.map((row) => workers.predict(row)));
      const lone = [];
      for (const row of rows) lone.push(await inline.predict(row));
      const together = await Promise.all(rows.map((row) => inline.predict(row)));
      for (let i = 0; i < rows.length; i++) {
        const want = probabilities(expected[i]);
        expect(want).toHaveLength(10);
        for (const got of [lone[i], together[i]])
          probabilities(got).forEach((v, j) => expect(v).toBeCloseTo(want[j] as number, 6));
      }
    } finally {
      await Promise.all([inline.close(), workers.close()]);
    }
  });

  it('is measured on lone calls themselves: each one answered like the workers answer, each candidate in turn', async () => {
    const { rows, inline, workers } = await inlineAndWorkers();
    try {
      const expected = await Promise.all(rows.map((row) => workers.predict(row)));
      const check = (i: number, got: unknown): void => {
        const want = probabilities(expected[i % rows.length]);
        probabilities(got).forEach((v, j) => expect(v).toBeCloseTo(want[j] as number, 6));
      };
      let i = 0;
      const reason = (): string => inline.stats().execution?.reason ?? '';
      while (!/^Being measured on lone calls/.test(reason())) {
        check(i, await inline.predict(rows[i % rows.length] as Float32Array));
        if (++i > 5000) throw new Error('the measurement never started');
      }
      let measuring = 0;
      while (/^Being measured/.test(reason())) {
        check(i, await inline.predict(rows[i % rows.length] as Float32Array));
        i++;
        if (++measuring > 5000) throw new Error('the measurement never ended');
      }
      // The sessions and a worker each answered at least PROBE_RUNS counted calls (plus the uncounted first of
      // each block), all of them correct.
      const candidates = availableParallelism() > 1 ? 3 : 2;
      expect(measuring).toBeGreaterThanOrEqual(candidates * PROBE_RUNS);
      expectConsistent(inline);
    } finally {
      await Promise.all([inline.close(), workers.close()]);
    }
  });

  it("while another model's workers run, lone calls go to the workers unless a one-thread session was kept for that", async () => {
    const { onnx, test } = tinyMnist();
    const row = test.images.slice(0, 784);
    const small = await loadModel(onnx, { logger: silentLogger });
    const slow = await loadModel(slowModel(), { logger: silentLogger, batching: false, inline: false });
    try {
      await Promise.all([small.ready(), slow.ready()]);
      await callAloneUntilMeasured(small, row);
      const execution = small.stats().execution;
      if (!execution?.inline) return; // measured slower inline on this machine: nothing to check
      expect(typeof execution.inlineBesideOthers).toBe('boolean');
      // A one-thread best session is the one used beside other models.
      if (execution.inlineThreads === 1) expect(execution.inlineBesideOthers).toBe(true);
      expect(execution.reason).toMatch(
        execution.inlineBesideOthers
          ? /^(?!.*lone calls go to the workers)/
          : /While other models run, lone calls go to the workers\.$/,
      );
      // Calls that overlapped the measurement's own runs keep the next 10 ms on the workers.
      for (let i = 0; i < 5000 && !small.stats().execution?.inlineCalls; i++) await small.predict(row);
      const before = small.stats().execution?.inlineCalls as number;
      expect(before).toBeGreaterThan(0);
      for (let i = 0; i < 8; i++) await small.predict(row);
      expect(small.stats().execution?.inlineCalls).toBe(before + 8);
      // A big batch keeps one of the other model's workers busy for a while (tens of ms or more).
      let running = true;
      const big = slow.predict({ x: { data: new Float32Array(512 * 2048).fill(1), shape: [2048, 512] } });
      void big.finally(() => (running = false));
      const during = small.stats().execution?.inlineCalls as number;
      let calls = 0;
      while (running && calls < 8) {
        await small.predict(row);
        calls++;
      }
      await big;
      expect(calls).toBeGreaterThan(0);
      expect(small.stats().execution?.inlineCalls).toBe(execution.inlineBesideOthers ? during + calls : during);
    } finally {
      await Promise.all([small.close(), slow.close()]);
    }
  });

  it('a model whose run is long stays on the workers; the reason carries the figures', async () => {
    const model = await loadModel(slowModel(), { logger: silentLogger });
    try {
      await model.ready();
      await callAloneUntilMeasured(model, { x: { data: new Float32Array(512).fill(1), shape: [1, 512] } });
      expectConsistent(model);
    } finally {
      await model.close();
    }
  });

  it("refuses an inline value other than 'auto' or false with INVALID_OPTIONS, loading nothing", async () => {
    for (const inline of [true, 'always', 1]) {
      await expect(
        loadModel(addOneModel(), { logger: silentLogger, inline: inline as never }),
        String(inline),
      ).rejects.toMatchObject({ code: 'INVALID_OPTIONS', message: expect.stringContaining('inline') });
    }
  });

  it('nothing to measure with without warm-up: every call goes to the workers', async () => {
    const model = await loadModel(addOneModel(), { logger: silentLogger, warmup: false });
    try {
      await model.ready();
      for (let i = 0; i < 2 * LONE_CALLS_BEFORE_PROBE; i++) await model.predict([[1, 2, 3, 4]]);
      expect(model.stats().execution).toMatchObject({ inline: false });
      const out = await model.predict([[1, 2, 3, 4]]);
      expect(Array.from((out as Record<string, { data: Float32Array }>).y?.data ?? [])).toEqual([2, 3, 4, 5]);
    } finally {
      await model.close();
    }
  });
});
