import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDeploymentWith,
  createHandler,
  createRemoteVersion,
  loadModel,
  silentLogger,
  type Deployment,
  type LocalRegistry,
  type Model,
} from 'modelship';
import { serve, type ModelshipServer } from 'modelship/node';
import { soakSwap } from '../../bench/soak-swap.js';
import { call, postJson } from '../helpers/http.js';
import { deploymentRegistry, digits, loaderWith } from '../helpers/deployments.js';

const TOKEN = 'test-admin-token-0123456789';
const { images } = digits(8);

describe('deployments over HTTP', () => {
  let registry: LocalRegistry;
  let deployment: Deployment;
  let plain: Model;
  let server: ModelshipServer;
  let base: string;

  beforeAll(async () => {
    registry = await deploymentRegistry();
    deployment = await createDeploymentWith(loaderWith(registry), {
      name: 'mnist',
      stable: 'mnist/1',
      canary: { ref: 'mnist/2', weight: 0.5 },
      logger: silentLogger,
    });
    plain = await loadModel('addone/1', { registry, workers: 1, logger: silentLogger });
    server = await serve(
      createHandler({ models: [deployment, plain], logger: silentLogger, admin: { token: TOKEN } }),
      { port: 0, host: '127.0.0.1' },
    );
    base = server.url;
  });
  afterAll(async () => {
    await server.close();
  });

  it('serves a deployment like a model, with the version that answered in the body and x-modelship-version', async () => {
    const seen = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const key = `user-${i}`;
      const res = await postJson(
        `${base}/models/mnist/predict`,
        { inputs: [images[i % 8]] },
        { 'x-modelship-route-key': key },
      );
      expect(res.status).toBe(200);
      expect(res.headers.get('x-modelship-version')).toBe(res.body.version);
      seen.set(key, res.body.version);
      const again = await postJson(
        `${base}/v2/models/mnist/infer`,
        { inputs: [{ name: 'pixels', shape: [1, 784], datatype: 'FP32', data: images[0] }] },
        { 'x-modelship-route-key': key },
      );
      expect(again.body.model_version).toBe(res.body.version);
    }
    expect(new Set(seen.values())).toEqual(new Set(['1', '2']));
    const list = await call(`${base}/models`);
    expect(list.body.models[0]).toMatchObject({ name: 'mnist', version: '1', state: 'ready' });
    const model = await postJson(`${base}/models/addone/predict`, { inputs: [[1, 2, 3, 4]] });
    expect(model.headers.get('x-modelship-version')).toBe('1');
  });

  it('answers 401 on admin routes without the right bearer token, and changes nothing', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: TOKEN }] as Record<
      string,
      string
    >[]) {
      const get = await call(`${base}/admin/deployments/mnist`, { headers });
      expect(get.status).toBe(401);
      expect(get.body.error.code).toBe('UNAUTHORIZED');
      const post = await postJson(`${base}/admin/deployments/mnist`, { action: 'rollback' }, headers);
      expect(post.status).toBe(401);
    }
    expect(deployment.status().canary?.weight).toBe(0.5);
  });

  it('shows status and changes weights, rolls back and promotes with the token', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const status = await call(`${base}/admin/deployments/mnist`, { headers: auth });
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      name: 'mnist',
      stable: { version: '1' },
      canary: { version: '2', weight: 0.5 },
    });
    expect(
      (await postJson(`${base}/admin/deployments/mnist`, { action: 'weights', weight: 0.25 }, auth)).body.canary.weight,
    ).toBe(0.25);
    expect(
      (await postJson(`${base}/admin/deployments/mnist`, { action: 'weights', weight: 2 }, auth)).body.error.code,
    ).toBe('INVALID_ARGUMENT');
    expect((await postJson(`${base}/admin/deployments/mnist`, { action: 'rollback' }, auth)).body.canary.weight).toBe(
      0,
    );
    const promoted = await postJson(`${base}/admin/deployments/mnist`, { action: 'promote' }, auth);
    expect(promoted.body).toMatchObject({ stable: { version: '2' }, previous: { version: '1' } });
    expect((await postJson(`${base}/models/mnist/predict`, { inputs: [images[0]] })).body.version).toBe('2');
    expect((await call(`${base}/admin/deployments/addone`, { headers: auth })).status).toBe(404);
  });

  it('uses a KServe v2 endpoint as a version, mapping its failures to modelship codes', async () => {
    const remote = await createRemoteVersion({ protocol: 'v2', url: base, model: 'addone' });
    expect(remote.signature.inputs[0]).toMatchObject({ name: 'x', dtype: 'float32', shape: [null, 4] });
    const out = await remote.predict([[1, 2, 3, 4]]);
    expect(Array.from(out.y!.data as Float32Array)).toEqual([2, 3, 4, 5]);
    await expect(createRemoteVersion({ protocol: 'v2', url: base, model: 'nope' })).rejects.toMatchObject({
      code: 'UPSTREAM_ERROR',
    });
    await expect(
      createRemoteVersion({ protocol: 'v2', url: 'http://127.0.0.1:1', model: 'x', retries: 0 }),
    ).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    await remote.close();
  });

  it('keeps the admin routes off unless enabled', async () => {
    const handler = createHandler({ models: [plain], closeModels: false, logger: silentLogger });
    const res = await handler(
      new Request('http://x/admin/deployments/mnist', { headers: { authorization: `Bearer ${TOKEN}` } }),
    );
    expect(res.status).toBe(404);
  });

  it('answers every request across alias swaps under load (short soak)', async () => {
    const result = await soakSwap({ swaps: 4, everyMs: 700, connections: 4 });
    expect(result).toMatchObject({ non2xx: 0, errors: 0, swaps: 4 });
    expect(result.requests).toBeGreaterThan(100);
  });
});
