/**
 * Hostile inputs over real HTTP (both protocols), each one an attack that used to get through: ragged or
 * absurdly deep nested data, out-of-range deadlines, an empty `outputs` list, numbers that overflow to
 * Infinity, inputs named like Object.prototype members, and bodies built to make the error answer huge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, loadModel, type Logger, type Model } from 'modelship';
import { serve, type ModelshipServer } from 'modelship/node';
import { writeOnnxModel, type OnnxElementType } from '../../examples/shared/onnx-writer.js';
import { call, postJson } from '../helpers/http.js';

/** y = x and z = x through Identity: the answer shows exactly what the model was fed. */
function identityModel(
  name: string,
  inputs: Array<{ name: string; type: OnnxElementType; shape: Array<number | string> | null }>,
): Uint8Array {
  return writeOnnxModel({
    name,
    inputs,
    outputs: inputs.flatMap((v) => [
      { ...v, name: `${v.name}_y` },
      { ...v, name: `${v.name}_z` },
    ]),
    nodes: inputs.flatMap((v) => [
      { op: 'Identity', inputs: [v.name], outputs: [`${v.name}_y`] },
      { op: 'Identity', inputs: [v.name], outputs: [`${v.name}_z`] },
    ]),
  });
}

/** A logger that keeps what it is given, to prove hostile input logs nothing at error level. */
function capturingLogger(): Logger & { errors: unknown[][] } {
  const errors: unknown[][] = [];
  const noop = (): void => undefined;
  return { debug: noop, info: noop, warn: noop, error: (...args: unknown[]) => void errors.push(args), errors };
}

/** POSTs raw JSON text (for literals `JSON.stringify` cannot write, such as `1e309`). */
function postText(url: string, text: string, headers: Record<string, string> = {}): ReturnType<typeof call> {
  return call(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: text });
}

const zeros = (n: number): number[] => new Array<number>(n).fill(0);

describe('hostile request input over HTTP', () => {
  let server: ModelshipServer;
  let base: string;
  const logger = capturingLogger();
  const models: Model[] = [];

  beforeAll(async () => {
    const load = (bytes: Uint8Array, name: string, extra: Record<string, unknown> = {}): Promise<Model> =>
      loadModel(bytes, { name, version: '1', workers: 0, logger, ...extra });
    models.push(
      await load(identityModel('pixels', [{ name: 'pixels', type: 'float32', shape: ['batch', 784] }]), 'pixels'),
      await load(identityModel('f64', [{ name: 'x', type: 'float64', shape: ['batch', 2] }]), 'f64'),
      await load(identityModel('anyrank', [{ name: 'x', type: 'float32', shape: null }]), 'anyrank'),
      await load(
        identityModel('proto', [
          { name: 'constructor', type: 'float32', shape: ['batch', 2] },
          { name: 'toString', type: 'float32', shape: ['batch', 2] },
        ]),
        'proto',
      ),
      await load(identityModel('lenient', [{ name: 'x', type: 'float32', shape: ['batch', 2] }]), 'lenient', {
        allowNonFinite: true,
      }),
    );
    await Promise.all(models.map((m) => m.ready()));
    server = await serve(createHandler({ models, logger }), { port: 0, host: '127.0.0.1' });
    base = server.url;
  });
  afterAll(async () => {
    await server.close();
  });

  it('refuses OIP nested data whose rows do not match the shape, naming the ragged row', async () => {
    const res = await postJson(`${base}/v2/models/pixels/infer`, {
      inputs: [{ name: 'pixels', shape: [2, 784], datatype: 'FP32', data: [zeros(700), zeros(868)] }],
    });
    expect(res.status).toBe(400);
    // OIP's error shape: {"error": "<message>", "code"}.
    expect(res.body.code).toBe('INVALID_INPUT');
    expect(res.body.error).toContain('pixels.data[0]: expected 784 values, got 700');

    const rank3 = { name: 'x', shape: [1, 2, 2], datatype: 'FP32' };
    const deep = await postJson(`${base}/v2/models/anyrank/infer`, {
      inputs: [
        {
          ...rank3,
          data: [
            [
              [1, 2],
              [3, 4],
              [5, 6],
            ],
          ],
        },
      ],
    });
    expect(deep.status).toBe(400);
    expect(deep.body.error).toContain('x.data[0]: expected an array of 2, got an array of 3');
    const leafArray = await postJson(`${base}/v2/models/anyrank/infer`, {
      inputs: [
        {
          ...rank3,
          data: [
            [
              [1, 2],
              [3, [4]],
            ],
          ],
        },
      ],
    });
    expect(leafArray.status).toBe(400);
    expect(leafArray.body.error).toContain('x.data[0][1][1]');

    // Well-formed nesting still answers, in row-major order.
    const ok = await postJson(`${base}/v2/models/anyrank/infer`, {
      inputs: [
        {
          ...rank3,
          data: [
            [
              [1, 2],
              [3, 4],
            ],
          ],
        },
      ],
    });
    expect(ok.status).toBe(200);
    expect(ok.body.outputs[0]).toMatchObject({ shape: [1, 2, 2], data: [1, 2, 3, 4] });
  });

  it('answers 400 to data nested 100,000 deep on both protocols, logging nothing at error level', async () => {
    const depth = 100_000;
    const nested = `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    const v2 = await postText(
      `${base}/v2/models/anyrank/infer`,
      `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":${nested}}]}`,
    );
    expect(v2.status).toBe(400);
    expect(v2.body.code).toBe('INVALID_INPUT');
    const simple = await postText(`${base}/models/anyrank/predict`, `{"inputs":${nested}}`);
    expect(simple.status).toBe(400);
    expect(simple.body.error.code).toBe('INVALID_INPUT');
    const longShape = await postJson(`${base}/v2/models/anyrank/infer`, {
      inputs: [{ name: 'x', shape: new Array(depth).fill(1), datatype: 'FP32', data: [1] }],
    });
    expect(longShape.status).toBe(400);
    expect(logger.errors).toEqual([]);
  });

  it('refuses deadline headers that are not a positive decimal up to the timer limit, without a timer warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      for (const value of [
        '2147483648',
        '99999999999999999999',
        '1e400',
        '-5',
        'NaN',
        '0x10',
        '0',
        '1e3',
        'Infinity',
      ]) {
        const res = await postJson(`${base}/predict`, { inputs: [zeros(784)] }, { 'x-modelship-deadline-ms': value });
        expect({ value, status: res.status, code: res.body.error?.code }).toEqual({
          value,
          status: 400,
          code: 'INVALID_ARGUMENT',
        });
        expect(res.body.error.message).toContain('x-modelship-deadline-ms');
      }
      for (const value of ['2147483647', '60000', '1.5']) {
        const res = await postJson(`${base}/predict`, { inputs: [zeros(784)] }, { 'x-modelship-deadline-ms': value });
        expect({ value, status: res.status }).toEqual({ value, status: 200 });
      }
      await expect(models[0]?.predict([zeros(784)], { deadlineMs: 2 ** 31 })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('answers every output for an empty "outputs" list, as Triton does, on both protocols and in-process', async () => {
    const simple = await postJson(`${base}/models/f64/predict`, { inputs: [[1, 2]], outputs: [] });
    expect(simple.status).toBe(200);
    expect(Object.keys(simple.body.outputs).sort()).toEqual(['x_y', 'x_z']);
    const v2 = await postJson(`${base}/v2/models/f64/infer`, {
      inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP64', data: [1, 2] }],
      outputs: [],
    });
    expect(v2.status).toBe(200);
    expect(v2.body.outputs.map((o: { name: string }) => o.name).sort()).toEqual(['x_y', 'x_z']);
    const inProcess = await models[1]?.predict([[1, 2]], { outputs: [] });
    expect(Object.keys(inProcess ?? {}).sort()).toEqual(['x_y', 'x_z']);
  });

  it('refuses numbers that overflow to Infinity for every float dtype, unless the model opts in', async () => {
    const row = (v: string): string => `[${[v, ...zeros(783)].join(',')}]`;
    for (const literal of ['1e309', '-1e309']) {
      const simple = await postText(`${base}/predict`, `{"inputs":[${row(literal)}]}`);
      expect(simple.status).toBe(400);
      expect(simple.body.error.message).toContain('pixels[0][0]: expected a finite number, got');
      const v2 = await postText(
        `${base}/v2/models/pixels/infer`,
        `{"inputs":[{"name":"pixels","shape":[1,784],"datatype":"FP32","data":${row(literal)}}]}`,
      );
      expect(v2.status).toBe(400);
      expect(v2.body.error).toContain('pixels.data[0]: expected a finite number');
      const f64 = await postText(`${base}/models/f64/predict`, `{"inputs":[[0,${literal}]]}`);
      expect(f64.status).toBe(400);
      expect(f64.body.error.code).toBe('INVALID_INPUT');
    }
    // Finite in JSON but past float32's range: it would be stored as Infinity.
    const f32Overflow = await postText(`${base}/predict`, `{"inputs":[${row('1e39')}]}`);
    expect(f32Overflow.status).toBe(400);
    const lenient = await postText(`${base}/models/lenient/predict`, '{"inputs":[[1e309,-1e309]],"outputs":["x_y"]}');
    expect(lenient.status).toBe(200);
    expect(lenient.body.outputs.x_y).toEqual([[null, null]]);
  });

  it('serves inputs named after Object.prototype members and never calls them "given twice"', async () => {
    const input = (name: string): Record<string, unknown> => ({ name, shape: [1, 2], datatype: 'FP32', data: [1, 2] });
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const res = await postJson(`${base}/v2/models/f64/infer`, { inputs: [{ ...input(name), datatype: 'FP64' }] });
      expect(res.status).toBe(400);
      expect(res.body.error).not.toContain('given twice');
      expect(res.body.error).toContain('Unknown input');
    }
    const both = [input('constructor'), { ...input('toString'), data: [3, 4] }];
    const v2 = await postJson(`${base}/v2/models/proto/infer`, { inputs: both });
    expect(v2.status).toBe(200);
    const out = Object.fromEntries(
      (v2.body.outputs as Array<{ name: string; data: number[] }>).map((o) => [o.name, o.data]),
    );
    expect(out).toMatchObject({ constructor_y: [1, 2], toString_y: [3, 4] });
    const simple = await postJson(`${base}/models/proto/predict`, {
      inputs: { constructor: [[1, 2]], toString: [[3, 4]] },
    });
    expect(simple.status).toBe(200);
    expect(simple.body.outputs.toString_z).toEqual([[3, 4]]);
    const missing = await postJson(`${base}/models/proto/predict`, { inputs: { toString: [[3, 4]] } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toContain('Missing input "constructor"');
    const twice = await postJson(`${base}/v2/models/proto/infer`, { inputs: [...both, input('constructor')] });
    expect(twice.body.error).toContain('"constructor" is given twice');
  });

  it('keeps every error body to a few KB however much the request would echo', async () => {
    const keys = Array.from({ length: 400_000 }, (_, i) => `"k${i}":0`).join(',');
    const unknownKeys = await postText(`${base}/models/proto/predict`, `{"inputs":{${keys}}}`);
    expect(unknownKeys.status).toBe(400);
    const text = JSON.stringify(unknownKeys.body);
    expect(text.length).toBeLessThan(4096);
    expect(unknownKeys.body.error.message).toContain('and 399990 more');

    const long = 'n'.repeat(1_000_000);
    const answers = await Promise.all([
      postJson(`${base}/v2/models/pixels/infer`, {
        inputs: [{ name: long, shape: [1, 784], datatype: 'FP32', data: zeros(784) }],
      }),
      postJson(`${base}/v2/models/pixels/infer`, {
        inputs: [{ name: 'pixels', shape: [1, 784], datatype: 'FP32', data: zeros(784) }],
        outputs: [{ name: long }],
      }),
      postJson(`${base}/models/pixels/predict`, { inputs: [zeros(784)], outputs: [long, long] }),
      postJson(`${base}/models/pixels/predict`, { inputs: { [long]: 1, other: 2 } }),
      postJson(`${base}/models/pixels/predict`, { inputs: [[long, ...zeros(783)]] }),
    ]);
    for (const res of answers) {
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body).length).toBeLessThan(4096);
    }
    expect(logger.errors).toEqual([]);
  });
});
