/**
 * TF Serving / KServe v1 REST on a real server and port with real ONNX models. Requests are the ones
 * tensorflow/serving's REST docs (g3doc/api_rest.md) show, sent as their `curl -d` one-liners send them
 * (`Content-Type: application/x-www-form-urlencoded`, which TF Serving ignores); answers are checked against
 * the shapes the same docs print: `{"predictions": ...}` for the row format, `{"outputs": ...}` for the
 * columnar one, `{"model_version_status": [...]}` for the status, `{"error": "<message>"}` for every error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, loadModel, silentLogger, type Model } from 'modelship';
import { serve, type ModelshipServer } from 'modelship/node';
import { digitImage } from '../../examples/shared/mnist-data.js';
import { writeOnnxModel } from '../../examples/shared/onnx-writer.js';
import { addOneModel, multiInputModel, tinyMnist } from '../helpers/models.js';

describe('TF Serving / KServe v1 REST', () => {
  let server: ModelshipServer;
  let mnist: Model;
  let addone: Model;
  let multi: Model;
  const { test } = tinyMnist();
  const digits = [0, 1, 2].map((i) => Array.from(digitImage(test, i)));

  beforeAll(async () => {
    [mnist, addone, multi] = await Promise.all([
      loadModel(tinyMnist().onnx, { name: 'mnist', version: '3' }),
      loadModel(addOneModel(), { name: 'addone', version: '1' }),
      loadModel(multiInputModel(), { name: 'multi', version: '1' }),
    ]);
    await Promise.all([mnist.ready(), addone.ready(), multi.ready()]);
    const handler = createHandler({ models: [mnist, addone, multi], logger: silentLogger });
    server = await serve(handler, { port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await server.close();
  });

  /** What `curl -d '<json>' -X POST <url>` sends: a form content type. */
  const curl = async (path: string, body?: string, method = body === undefined ? 'GET' : 'POST') => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    });
    return { status: res.status, type: res.headers.get('content-type'), body: JSON.parse(await res.text()) };
  };

  it('predicts in the row format: one prediction per instance, an object per instance for several outputs', async () => {
    const add = await curl(
      '/v1/models/addone:predict',
      JSON.stringify({
        instances: [
          [1, 2, 3, 4],
          [0, 0, 0, 0.5],
        ],
      }),
    );
    expect(add).toMatchObject({
      status: 200,
      body: {
        predictions: [
          [2, 3, 4, 5],
          [1, 1, 1, 1.5],
        ],
      },
    });
    const res = await curl('/v1/models/mnist:predict', JSON.stringify({ instances: digits }));
    expect(res.status).toBe(200);
    const local = await mnist.predict(digits);
    const labels = local.label?.toArray() as number[];
    expect(res.body.predictions).toHaveLength(3);
    expect(res.body.predictions.map((p: { label: number }) => p.label)).toEqual(labels);
    expect(res.body.predictions[0].probabilities).toHaveLength(10);
    // Named inputs per instance, as the docs' {"instances": [{"tag": ..., "signal": ...}]}.
    const named = await curl(
      '/v1/models/mnist/versions/3:predict',
      JSON.stringify({ instances: [{ pixels: digits[0] }] }),
    );
    expect(named.body.predictions[0].label).toBe(labels[0]);
  });

  it('predicts in the columnar format: {"outputs": value} for one output, by name for several', async () => {
    const add = await curl('/v1/models/addone:predict', JSON.stringify({ inputs: [[1, 2, 3, 4]] }));
    expect(add.body).toEqual({ outputs: [[2, 3, 4, 5]] });
    const named = await curl('/v1/models/addone:predict', JSON.stringify({ inputs: { x: [[1, 1, 1, 1]] } }));
    expect(named.body).toEqual({ outputs: [[2, 2, 2, 2]] });
    const multiInputs = {
      features: [[1, 2, 3]],
      ids: [7],
      mask: [[true, false]],
      fixed: [
        [1, 2],
        [3, 4],
      ],
      flags: [255],
    };
    const res = await curl(
      '/v1/models/multi:predict',
      JSON.stringify({ signature_name: 'serving_default', inputs: multiInputs }),
    );
    expect(res.status).toBe(200);
    expect(res.body.outputs).toEqual({
      features_out: [[1, 2, 3]],
      ids_out: [7],
      mask_out: [[true, false]],
      fixed_out: [
        [1, 2],
        [3, 4],
      ],
      flags_out: [255],
    });
  });

  it("answers the model status as GetModelStatusResponse, with KServe v1's name and ready beside it", async () => {
    const status = await curl('/v1/models/mnist');
    expect(status.body).toEqual({
      model_version_status: [{ version: '3', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }],
      name: 'mnist',
      ready: true,
    });
    expect((await curl('/v1/models/mnist/versions/3')).status).toBe(200);
    const meta = await curl('/v1/models/mnist/metadata');
    expect(meta.body.model_spec).toEqual({ name: 'mnist', signature_name: '', version: '3' });
    expect(meta.body.metadata.signature_def.signature_def.serving_default.inputs.pixels).toEqual({
      dtype: 'DT_FLOAT',
      tensor_shape: {
        dim: [
          { size: '-1', name: '' },
          { size: '784', name: '' },
        ],
        unknown_rank: false,
      },
      name: 'pixels',
    });
    expect((await curl('/v1/models')).body).toEqual({ models: ['mnist', 'addone', 'multi'] });
  });

  it('answers every error as {"error": "<message>"} with modelship\'s code beside it', async () => {
    const cases: Array<[string, string | undefined, number, string, RegExp?]> = [
      ['/v1/models/half:predict', '{"instances": [1.0, 5.0]}', 404, 'MODEL_NOT_FOUND'],
      ['/v1/models/mnist/versions/9:predict', '{"instances": [[1]]}', 404, 'VERSION_NOT_FOUND'],
      ['/v1/models/mnist/versions/9', undefined, 404, 'VERSION_NOT_FOUND'],
      [
        '/v1/models/addone:predict',
        '{"instances": [[1,2,3,4]], "inputs": [[1,2,3,4]]}',
        400,
        'INVALID_INPUT',
        /either "instances" or "inputs"/,
      ],
      ['/v1/models/addone:predict', '{"instances": []}', 400, 'INVALID_INPUT'],
      ['/v1/models/addone:predict', '{"instances": [[1, 2]]}', 400, 'INVALID_INPUT'],
      ['/v1/models/addone:predict', '{"signature_name": "other", "instances": [[1,2,3,4]]}', 400, 'INVALID_INPUT'],
      ['/v1/models/addone:predict', '{"instances": ', 400, 'MALFORMED_REQUEST'],
      [
        '/v1/models/multi:predict',
        '{"instances": [{"features": [1,2,3]}, {"ids": 1}]}',
        400,
        'INVALID_INPUT',
        /same inputs/,
      ],
      ['/v1/models/addone:classify', '{"examples": []}', 404, 'ROUTE_NOT_FOUND'],
      ['/v1/models/addone/labels/stable:predict', '{"instances": [[1,2,3,4]]}', 404, 'ROUTE_NOT_FOUND'],
      ['/v1/nothing', undefined, 404, 'ROUTE_NOT_FOUND'],
      ['/v1/models/addone:predict', undefined, 405, 'METHOD_NOT_ALLOWED'],
    ];
    for (const [path, body, status, code, message] of cases) {
      const res = await curl(path, body);
      expect(res.status, path).toBe(status);
      expect(res.type).toContain('application/json');
      expect(typeof res.body.error, path).toBe('string');
      expect(res.body.code, path).toBe(code);
      if (message) expect(res.body.error).toMatch(message);
    }
  });

  it('decodes {"b64": ...} values for string inputs, and refuses bad base64', async () => {
    const echo = await loadModel(
      writeOnnxModel({
        name: 'echo',
        inputs: [{ name: 'text', type: 'string', shape: ['batch'] }],
        outputs: [{ name: 'same', type: 'string', shape: ['batch'] }],
        nodes: [{ op: 'Identity', inputs: ['text'], outputs: ['same'] }],
      }),
      { name: 'echo', version: '1' },
    );
    const own = await serve(createHandler({ models: [echo], logger: silentLogger }), { port: 0, host: '127.0.0.1' });
    try {
      const b64 = Buffer.from('héllo').toString('base64');
      const res = await fetch(`${own.url}/v1/models/echo:predict`, {
        method: 'POST',
        body: JSON.stringify({ instances: [{ b64 }, 'plain'] }),
      });
      expect(await res.json()).toEqual({ predictions: ['héllo', 'plain'] });
      const bad = await fetch(`${own.url}/v1/models/echo:predict`, {
        method: 'POST',
        body: JSON.stringify({ instances: [{ b64: '@@not base64@@' }] }),
      });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ code: 'INVALID_INPUT', error: expect.stringMatching(/b64/) });
    } finally {
      await own.close();
    }
  });
});
