/**
 * `POST /v2/models/{name}/feedback` on a real server: predictions made over OIP with `x-request-id`, labels sent
 * later one by one and in a batch, and what bad bodies get (a typed 400, nothing joined).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, loadModel, silentLogger, type Model } from 'modelship';
import { serve, type ModelshipServer } from 'modelship/node';
import { digits } from '../helpers/deployments.js';
import { postJson } from '../helpers/http.js';
import { tempFile, tinyMnist } from '../helpers/models.js';

let server: ModelshipServer;
let model: Model;
let plain: Model;
const { images, labels } = digits(20);

beforeAll(async () => {
  const path = await tempFile(tinyMnist().onnx, 'mnist.onnx');
  model = await loadModel(path, { workers: 1, logger: silentLogger, monitoring: { sampleRate: 0 } });
  plain = await loadModel(path, { name: 'plain', workers: 1, logger: silentLogger });
  server = await serve(createHandler({ models: [model, plain], logger: silentLogger }), { port: 0, host: '127.0.0.1' });
  for (let i = 0; i < images.length; i++) {
    const body = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 784], data: images[i] }] };
    const answer = await postJson(`${server.url}/v2/models/mnist/infer`, body, { 'x-request-id': `req-${i}` });
    expect(answer.status).toBe(200);
  }
});
afterAll(() => server.close());

const feedback = (body: unknown, name = 'mnist'): ReturnType<typeof postJson> =>
  postJson(`${server.url}/v2/models/${name}/feedback`, body);

describe('POST /v2/models/{name}/feedback', () => {
  it('joins one label to the prediction made under its x-request-id', async () => {
    const answer = await feedback({ id: 'req-0', label: labels[0] });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ id: 'req-0', outcome: 'joined' });
    expect((await feedback({ id: 'req-0', label: labels[0] })).body.outcome).toBe('duplicate');
    expect((await feedback({ id: 'never-sent', label: 1 })).body.outcome).toBe('unknown');
  });

  it('joins a batch and counts each outcome', async () => {
    const batch = labels.slice(1).map((label, k) => ({ id: `req-${k + 1}`, label }));
    const answer = await feedback({ feedback: [...batch, { id: 'nope', label: 3 }, { id: 'req-1', label: 2.5 }] });
    expect(answer.status).toBe(200);
    expect(answer.body.counts).toEqual({ joined: 19, unknown: 1, invalid: 1 });
    expect(answer.body.outcomes).toHaveLength(21);
    const live = model.monitoring!.report().live;
    expect(live.labelled).toBe(20);
    expect(live.accuracy).toBeGreaterThan(0.7);
  });

  it.each([
    ['an array', [{ id: 'a', label: 1 }]],
    ['a string id missing', { label: 1 }],
    ['a label that is a string', { id: 'req-3', label: '7' }],
    ['an empty batch', { feedback: [] }],
    [
      'a batch with one bad item',
      {
        feedback: [
          { id: 'req-5', label: 1 },
          { id: 5, label: 1 },
        ],
      },
    ],
    ['a batch too long', { feedback: Array.from({ length: 10_001 }, (_, i) => ({ id: `x${i}`, label: 1 })) }],
  ])('refuses %s with a typed 400 and joins nothing', async (_, body) => {
    const before = model.monitoring!.report().labels;
    const answer = await feedback(body);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ code: 'INVALID_INPUT' });
    expect(typeof answer.body.error).toBe('string');
    expect(model.monitoring!.report().labels).toBe(before);
  });

  it('answers 400 for a model loaded without monitoring', async () => {
    const answer = await feedback({ id: 'req-0', label: 1 }, 'plain');
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it("names every answer with x-request-id: the client's when valid, else a new one that feedback accepts", async () => {
    const digit = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 784], data: images[0] }] };
    const mine = await postJson(`${server.url}/v2/models/mnist/infer`, digit, { 'x-request-id': 'client-7' });
    expect(mine.headers.get('x-request-id')).toBe('client-7');
    const made = await postJson(`${server.url}/v2/models/mnist/infer`, digit);
    const id = made.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
    const again = await postJson(`${server.url}/v2/models/mnist/infer`, digit);
    expect(again.headers.get('x-request-id')).not.toBe(id);
    expect((await feedback({ id, label: labels[0] })).body.outcome).toBe('joined');
    // Not echoed: spaces, control characters or past 128 characters.
    for (const bad of ['has space', 'x'.repeat(129)]) {
      const answer = await postJson(`${server.url}/v2/models/mnist/infer`, digit, { 'x-request-id': bad });
      expect(answer.headers.get('x-request-id')).toMatch(/^[0-9a-f]{12}-/);
    }
    const missing = await fetch(`${server.url}/v2/models/nobody/ready`, { headers: { 'x-request-id': 'err-1' } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toBe('err-1');
  });

  it('names /predict answers in the body too (id), and feedback joins by it', async () => {
    const answer = await postJson(`${server.url}/models/mnist/predict`, { inputs: { pixels: [images[1]] } });
    expect(answer.status).toBe(200);
    const id = answer.body.id as string;
    expect(id).toBe(answer.headers.get('x-request-id'));
    expect(Object.keys(answer.body)).toEqual(['id', 'model', 'version', 'outputs']);
    expect((await feedback({ id, label: labels[1] })).body.outcome).toBe('joined');
    const mine = await postJson(`${server.url}/predict`, { inputs: [images[2]] }, { 'x-request-id': 'mine-2' });
    expect(mine.body.id).toBe('mine-2');
  });

  it('GET /v2 lists only OIP extensions; feedback is a modelship route, not one of them', async () => {
    const v2 = await fetch(`${server.url}/v2`);
    const { extensions } = (await v2.json()) as { extensions: string[] };
    expect(extensions).toEqual(['binary_tensor_data', 'classification', 'model_configuration', 'statistics']);
  });

  it('answers 404 for an unknown model and 405 for GET', async () => {
    expect((await feedback({ id: 'a', label: 1 }, 'nobody')).status).toBe(404);
    expect((await fetch(`${server.url}/v2/models/mnist/feedback`)).status).toBe(405);
  });
});
