/**
 * session.executionProviders on an onnxruntime-node build without GPU providers (the npm build on Linux has no
 * CUDA libraries unless installed separately): a list with a fallback loads on it with one warning for the
 * whole pool, and a list without one fails with a typed error that says what to do. Real workers, real model.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadModel, silentLogger } from 'modelship';
import { usableProviders } from '../../../src/backends/onnx-node/execution-providers.js';
import { loadOnnxRuntime } from '../../../src/backends/onnx-node/load-runtime.js';
import { rejection } from '../../helpers/errors.js';
import { addOneModel, tempFile } from '../../helpers/models.js';

const warnings: Error[] = [];
const onWarning = (w: Error): void => {
  if (w.name === 'ModelshipWarning') warnings.push(w);
};
beforeEach(() => {
  warnings.length = 0;
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});

const hasCuda = async (): Promise<boolean> =>
  (await usableProviders(await loadOnnxRuntime(), ['cuda', 'cpu'])).providers.includes('cuda');

describe('execution provider fallback', () => {
  it("['cuda', 'cpu'] without CUDA loads on the CPU, with one warning for all workers, and answers correctly", async (ctx) => {
    if (await hasCuda()) ctx.skip(); // a machine with CUDA takes the first choice; nothing falls back
    const path = await tempFile(addOneModel());
    const model = await loadModel(path, {
      workers: 2,
      session: { executionProviders: ['cuda', 'cpu'] },
      logger: silentLogger,
    });
    await model.ready();
    const out = await model.predict([[1, 2, 3, 4]]);
    expect(Array.from(out.y?.data as Float32Array)).toEqual([2, 3, 4, 5]);
    await new Promise((r) => setImmediate(r));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toMatch(/'cuda' \(.+\) cannot run in this onnxruntime-node build; running on 'cpu'/);
    expect(warnings[0]?.message).toMatch(/docs\/gpu\.md/);
    expect(warnings[0]?.message).not.toMatch(/\/work|node_modules|\.so/);
    await model.close();
  });

  it('providers this build does not have at all are left out without being tried (dml, coreml, made-up names)', async () => {
    const choice = await usableProviders(await loadOnnxRuntime(), ['dml', 'coreml', 'no-such-provider', 'cpu']);
    expect(choice.providers).toEqual(['cpu']);
    expect(choice.dropped.map((d) => d.name)).toEqual(['dml', 'coreml', 'no-such-provider']);
    for (const d of choice.dropped) expect(d.reason).toBe('not part of this onnxruntime-node build');
  });

  it('a list with no provider that can run fails with MODEL_LOAD_FAILED saying to add cpu, not blaming the file', async (ctx) => {
    if (await hasCuda()) ctx.skip();
    const path = await tempFile(addOneModel());
    const error = await rejection(
      loadModel(path, { workers: 1, session: { executionProviders: ['cuda'] }, logger: silentLogger }),
    );
    expect(error.code).toBe('MODEL_LOAD_FAILED');
    expect(error.message).toMatch(/Add 'cpu' to session\.executionProviders/);
    expect(error.message).not.toMatch(/complete ONNX model|truncated/);
    expect(error.message).not.toContain(path);
    expect(error.details).toMatchObject({ requested: ['cuda'], unavailable: ['cuda'] });
  });

  it("['cpu'] alone is never probed and gives no warning", async () => {
    const path = await tempFile(addOneModel());
    const model = await loadModel(path, { workers: 1, session: { executionProviders: ['cpu'] }, logger: silentLogger });
    await model.ready();
    await new Promise((r) => setImmediate(r));
    expect(warnings).toHaveLength(0);
    await model.close();
  });
});
