import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, silentLogger, type Model } from 'modelship';
import { createMiddleware } from 'modelship/express';
import { call, postJson } from '../helpers/http.js';
import { addOneModel } from '../helpers/models.js';

async function listen(app: express.Express): Promise<{ url: string; close(): Promise<void> }> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

describe('modelship/express', () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(addOneModel(), { name: 'adder', version: '1' });
    await model.ready();
  });
  afterAll(async () => {
    await model.close();
  });

  it('serves predictions mounted under a path and passes other paths on to the app', async () => {
    const app = express();
    app.use('/ml', createMiddleware({ models: [model], closeModels: false, logger: silentLogger }));
    app.get('/hello', (_req, res) => void res.json({ hello: 'world' }));
    const { url, close } = await listen(app);
    try {
      const res = await postJson(`${url}/ml/predict`, { inputs: [[1, 2, 3, 4]] });
      expect(res.status).toBe(200);
      expect(res.body.outputs.y).toEqual([[2, 3, 4, 5]]);
      expect((await call(`${url}/hello`)).body).toEqual({ hello: 'world' });
      expect((await call(`${url}/ml/nothing-here`)).status).toBe(404); // Express's own 404
      const bad = await postJson(`${url}/ml/predict`, { inputs: [[1, 2]] });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('INVALID_INPUT');
      const unknown = await postJson(`${url}/ml/models/other/predict`, { inputs: [] });
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe('MODEL_NOT_FOUND');
    } finally {
      await close();
    }
  });

  it('works behind express.json(), which has already consumed the body', async () => {
    const app = express();
    app.use(express.json({ limit: '1mb' }));
    app.use(express.urlencoded({ extended: false }));
    app.use(createMiddleware({ models: [model], closeModels: false, logger: silentLogger }));
    const { url, close } = await listen(app);
    try {
      const res = await postJson(`${url}/predict`, { inputs: [[0, 0, 0, 1]] });
      expect(res.status).toBe(200);
      expect(res.body.outputs.y).toEqual([[1, 1, 1, 2]]);
      const form = await call(`${url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'inputs=1',
      });
      expect(form.status).toBe(415);
      const v2 = await postJson(`${url}/v2/models/adder/infer`, {
        inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 1, 1, 1] }],
      });
      expect(v2.body.outputs[0].data).toEqual([2, 2, 2, 2]);
    } finally {
      await close();
    }
  });
});
