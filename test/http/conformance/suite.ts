/**
 * The OIP conformance suite: the table in cases.ts run through one transport's driver. Each transport's test
 * file starts the models with {@link conformanceModels}, serves them its way, and calls
 * {@link describeOipConformance} with its driver.
 */
import { describe, expect, it } from 'vitest';
import { loadModel, type Model, type ServableModel } from 'modelship';
import { digitImage } from '../../../examples/shared/mnist-data.js';
import { slowModel, tinyMnist } from '../../helpers/models.js';
import { inferCases, type InferCase, type OipDriver } from './cases.js';
import { allTypesModel } from './models.js';

/** The digit names `digits` reports as its class labels (model metadata `labels`). */
export const DIGIT_LABELS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/** The models the suite expects, loaded and warm: `alltypes`, `digits` (MNIST with labels) and `slow`. */
export interface ConformanceModels {
  readonly models: ServableModel[];
  readonly mnist: Model;
  readonly slow: Model;
  readonly digit: number[];
  readonly digitLabel: number;
  close(): Promise<void>;
}

/**
 * Loads the suite's models. `digits` is the real MNIST model seen through a servable whose metadata carries
 * labels, as a registry's metadata would (the model runs unchanged).
 */
export async function conformanceModels(): Promise<ConformanceModels> {
  const { onnx, test } = tinyMnist();
  const [alltypes, mnist, slow] = await Promise.all([
    loadModel(allTypesModel(), { name: 'alltypes', version: '1' }),
    loadModel(onnx, { name: 'digits', version: '1' }),
    loadModel(slowModel(), { name: 'slow', version: '1' }),
  ]);
  await Promise.all([alltypes.ready(), mnist.ready(), slow.ready()]);
  const digits: ServableModel = {
    name: mnist.name,
    version: mnist.version,
    signature: mnist.signature,
    platform: mnist.platform,
    metadata: { labels: DIGIT_LABELS },
    get state() {
      return mnist.state;
    },
    predict: (input, options) => mnist.predict(input, options),
    ready: () => mnist.ready(),
    close: () => mnist.close(),
  };
  return {
    models: [alltypes, digits, slow],
    mnist,
    slow,
    digit: Array.from(digitImage(test, 0)),
    digitLabel: test.labels[0] as number,
    close: async () => {
      await Promise.all([alltypes.close(), mnist.close(), slow.close()]);
    },
  };
}

function check(c: InferCase, result: Awaited<ReturnType<OipDriver['infer']>>): void {
  if ('error' in c.expect) {
    expect(result.ok, JSON.stringify(result)).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe(c.expect.error.code);
    if (c.expect.error.message) expect(result.message).toMatch(c.expect.error.message);
    return;
  }
  expect(result.ok, JSON.stringify(result)).toBe(true);
  if (!result.ok) return;
  expect(result.modelName).toBe(c.model);
  expect(result.id).toBe(c.id);
  expect(Object.keys(result.outputs).sort()).toEqual(Object.keys(c.expect.outputs).sort());
  for (const [name, want] of Object.entries(c.expect.outputs)) {
    const got = result.outputs[name];
    expect(got, name).toMatchObject({ datatype: want.datatype, shape: want.shape });
    if (want.data !== undefined) expect(got?.data, name).toEqual(want.data);
  }
}

/** Defines the suite's tests for one transport; `setup` gives the driver and the loaded models once started. */
export function describeOipConformance(setup: () => { driver: OipDriver; models: ConformanceModels }): void {
  describe('OIP conformance', () => {
    it('answers health, server metadata with exactly the extensions served, model readiness and metadata', async () => {
      const { driver } = setup();
      expect(await driver.serverLive()).toBe(true);
      expect(await driver.serverReady()).toBe(true);
      const server = await driver.serverMetadata();
      expect(server.name).toBe('modelship');
      expect([...server.extensions].sort()).toEqual([
        'binary_tensor_data',
        'classification',
        'model_configuration',
        'statistics',
      ]);
      expect(await driver.modelReady('digits')).toBe(true);
      expect(await driver.modelReady('digits', '1')).toBe(true);
      const meta = await driver.modelMetadata('digits');
      expect(meta).toMatchObject({
        name: 'digits',
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 784] }],
      });
    });

    it("answers the model configuration in Triton's shape", async () => {
      const { driver } = setup();
      const config = await driver.modelConfig('alltypes');
      expect(config).toMatchObject({ name: 'alltypes', platform: 'onnxruntime_onnx', backend: 'onnxruntime' });
      // The model batches (its first dimension is dynamic): the batch dimension is left out of dims.
      expect(config.max_batch_size).toBeGreaterThan(0);
      const input = (config.input as Array<{ name: string }>).find((i) => i.name === 'in_FP16');
      expect(input).toMatchObject({ data_type: 'TYPE_FP16', dims: [2] });
      const bytes = (config.output as Array<{ name: string }>).find((i) => i.name === 'out_BYTES');
      expect(bytes).toMatchObject({ data_type: 'TYPE_STRING', dims: [2] });
      expect(config.dynamic_batching).toHaveProperty('max_queue_delay_microseconds');
      const digits = await driver.modelConfig('digits');
      expect(digits.input).toEqual([expect.objectContaining({ name: 'pixels', data_type: 'TYPE_FP32' })]);
    });

    const cases = (digit: number[]): InferCase[] => inferCases(digit);
    // Titles are known before the models load; the data is filled in when a test runs.
    for (const [index, title] of inferCases([]).map((c, i) => [i, c.title] as const)) {
      for (const allBinary of [false, true]) {
        it(`${title}${allBinary ? ' (every tensor binary, as tritonclient sends by default)' : ''}`, async () => {
          const { driver, models } = setup();
          const c = cases(models.digit)[index] as InferCase;
          check(c, await driver.infer(c, { allBinary }));
        });
      }
    }

    it('classifies with the labels in the model metadata, highest score first, as "score:index:label"', async () => {
      const { driver, models } = setup();
      const c = inferCases(models.digit).find((x) => x.title.startsWith('classification')) as InferCase;
      const result = await driver.infer(c);
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      const top = result.outputs.probabilities?.data as string[];
      const [score, index, label] = (top[0] as string).split(':');
      expect(Number(index)).toBe(models.digitLabel);
      expect(label).toBe(`${DIGIT_LABELS[models.digitLabel]}`);
      expect(score).toMatch(/^\d\.\d{6}$/);
      const scores = top.map((t) => Number(t.split(':')[0]));
      expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    });

    it('fails a request whose deadline passes with DEADLINE_EXCEEDED, and counts it in the statistics', async () => {
      const { driver, models } = setup();
      const before = (await driver.modelStatistics('slow'))[0];
      const slow = (rows: number): InferCase => ({
        title: 'deadline',
        model: 'slow',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, 512], data: new Array(rows * 512).fill(1) }],
        outputs: [{ name: 'y', binary: true }],
        expect: { outputs: {} },
      });
      // A big batch keeps the model busy; the next request waits in the queue past its 1 ms deadline.
      const busy = driver.infer(slow(1024), { allBinary: true });
      // Sent once the big batch runs (the server is in this process), so the order of arrival is certain.
      for (let i = 0; i < 100_000 && models.slow.stats().running === 0; i++) await new Promise(setImmediate);
      expect(models.slow.stats().running).toBeGreaterThan(0);
      const late = await driver.infer(slow(1), { deadlineMs: 1 });
      expect(late).toMatchObject({ ok: false, code: 'DEADLINE_EXCEEDED' });
      expect((await busy).ok).toBe(true);
      const after = (await driver.modelStatistics('slow'))[0];
      expect(after?.inference_stats.fail.count).toBe((before?.inference_stats.fail.count ?? 0) + 1);
      expect(after?.inference_stats.success.count).toBe((before?.inference_stats.success.count ?? 0) + 1);
    });

    it('drops a queued request whose client cancels it, and counts it as failed', async () => {
      const { driver, models } = setup();
      const before = (await driver.modelStatistics('slow'))[0]?.inference_stats.fail.count ?? 0;
      const slow = (rows: number): InferCase => ({
        title: 'cancel',
        model: 'slow',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, 512], data: new Array(rows * 512).fill(1) }],
        outputs: [{ name: 'y', binary: true }],
        expect: { outputs: {} },
      });
      const busy = driver.infer(slow(1024), { allBinary: true });
      for (let i = 0; i < 100_000 && models.slow.stats().running === 0; i++) await new Promise(setImmediate);
      const controller = new AbortController();
      const queued = models.slow.stats().inFlight;
      const cancelled = driver.infer(slow(1), { signal: controller.signal }).catch((error: unknown) => error);
      // Cancelled once the server has it (waiting in the queue behind the big batch).
      for (let i = 0; i < 100_000 && models.slow.stats().inFlight === queued; i++) await new Promise(setImmediate);
      expect(models.slow.stats().inFlight).toBeGreaterThan(queued);
      controller.abort();
      expect(await cancelled).toBeInstanceOf(Error);
      expect((await busy).ok).toBe(true);
      // The server's side ends when the dropped request is counted (the stats call is what waits).
      let fail = before;
      for (let i = 0; i < 1000 && fail === before; i++) {
        fail = (await driver.modelStatistics('slow'))[0]?.inference_stats.fail.count ?? 0;
      }
      expect(fail).toBe(before + 1);
    });

    it("keeps cumulative statistics per model and version with Triton's field names", async () => {
      const { driver, models } = setup();
      const c = inferCases(models.digit)[4] as InferCase;
      const before = (await driver.modelStatistics('digits', '1'))[0];
      check(c, await driver.infer(c));
      check(c, await driver.infer(c, { allBinary: true }));
      const [after] = await driver.modelStatistics('digits', '1');
      expect(after).toMatchObject({ name: 'digits', version: '1' });
      expect(after?.inference_count).toBe((before?.inference_count ?? 0) + 2);
      expect(after?.execution_count).toBe((before?.execution_count ?? 0) + 2);
      for (const key of ['success', 'queue', 'compute_input', 'compute_infer', 'compute_output']) {
        expect(after?.inference_stats[key].count, key).toBe((before?.inference_stats[key].count ?? 0) + 2);
      }
      expect(after?.inference_stats.success.ns).toBeGreaterThan(before?.inference_stats.success.ns ?? 0);
      expect(after?.last_inference).toBeGreaterThan(0);
      expect(after?.batch_stats.find((b: { batch_size: number }) => b.batch_size === 1)).toBeDefined();
      const all = await driver.modelStatistics();
      expect(all.map((s) => s.name).sort()).toEqual(['alltypes', 'digits', 'slow']);
    });
  });
}
