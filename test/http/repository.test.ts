/**
 * Triton's model repository extension over a real server on a real port: index, load and unload of real ONNX
 * models behind the admin token, in Triton's shapes (an array index, 200 with no body, `{"error": "..."}`).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, createModelRepository, loadModel, silentLogger, type ModelRepository } from 'modelship';
import { serve, type ModelshipServer } from 'modelship/node';
import { call, postJson } from '../helpers/http.js';
import { addOneModel, tempDir } from '../helpers/models.js';

const TOKEN = 'repository-admin-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
let server: ModelshipServer;
let plain: ModelshipServer;
let repository: ModelRepository;
let dir: string;

beforeAll(async () => {
  dir = await tempDir('modelship-repo-http-');
  for (const name of ['a', 'b', 'c']) await writeFile(join(dir, `${name}.onnx`), addOneModel());
  await writeFile(join(dir, 'broken.onnx'), new TextEncoder().encode('not a model'));
  repository = createModelRepository({
    models: Object.fromEntries(['a', 'b', 'c', 'broken'].map((n) => [n, join(dir, `${n}.onnx`)])),
    load: (ref) => loadModel(ref, { workers: 1, logger: silentLogger, warmup: false }),
    maxLoadedModels: 2,
  });
  const at = { port: 0, host: '127.0.0.1' };
  server = await serve(createHandler({ models: repository.models, logger: silentLogger, admin: { token: TOKEN } }), at);
  // The same repository without an admin token: the extension is off.
  plain = await serve(createHandler({ models: repository.models, logger: silentLogger, closeModels: false }), at);
});

afterAll(async () => {
  await plain?.close();
  await server?.close();
  await repository?.close();
});

const post = (path: string, body?: string, headers: Record<string, string> = auth) =>
  call(`${server.url}${path}`, { method: 'POST', headers, ...(body === undefined ? {} : { body }) });
const infer = (name: string) =>
  postJson(`${server.url}/v2/models/${name}/infer`, {
    inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }],
  });

describe('repository extension over HTTP', () => {
  it('lists model_repository in GET /v2 only where it is enabled', async () => {
    expect((await call(`${server.url}/v2`)).body.extensions).toContain('model_repository');
    expect((await call(`${plain.url}/v2`)).body.extensions).not.toContain('model_repository');
    const off = await postJson(`${plain.url}/v2/repository/index`, {}, auth);
    expect(off.status).toBe(404);
    expect(typeof off.body.error).toBe('string');
  });

  it('answers 401 without the admin token, before reading anything', async () => {
    const tries: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong-token-wrong-token' },
      { authorization: TOKEN },
      { authorization: `Basic ${TOKEN}` },
    ];
    for (const headers of tries) {
      for (const path of ['/v2/repository/index', '/v2/repository/models/a/load', '/v2/repository/models/a/unload']) {
        const res = await post(path, '{}', { 'content-type': 'application/json', ...headers });
        expect(res.status).toBe(401);
        expect(res.body).toMatchObject({ error: expect.any(String), code: 'UNAUTHORIZED' });
      }
    }
    expect(repository.stats().loads).toBe(0);
  });

  it('indexes, loads and unloads as Triton does; inference loads lazily and evicts the least recently used', async () => {
    const index = await post('/v2/repository/index');
    expect(index.status).toBe(200);
    expect(index.body).toEqual(
      ['a', 'b', 'broken', 'c']
        .map((name) => ({ name, state: 'UNAVAILABLE', reason: '' }))
        .sort((x, y) => ['a', 'b', 'c', 'broken'].indexOf(x.name) - ['a', 'b', 'c', 'broken'].indexOf(y.name)),
    );
    const load = await post('/v2/repository/models/a/load');
    expect([load.status, load.body]).toEqual([200, '']);
    expect(
      (await post('/v2/repository/index', '{"ready": true}', { ...auth, 'content-type': 'application/json' })).body,
    ).toEqual([{ name: 'a', version: expect.any(String), state: 'READY', reason: '' }]);
    expect((await infer('b')).body.outputs[0].data).toEqual([2, 3, 4, 5]); // lazily loaded
    expect((await infer('c')).body.outputs[0].data).toEqual([2, 3, 4, 5]); // evicts a (least recently used)
    const states = Object.fromEntries((await post('/v2/repository/index')).body.map((e: any) => [e.name, e.state]));
    expect(states).toEqual({ a: 'UNAVAILABLE', b: 'READY', c: 'READY', broken: 'UNAVAILABLE' });
    const unload = await post('/v2/repository/models/b/unload', '{"parameters": {"unload_dependents": true}}', {
      ...auth,
      'content-type': 'application/json',
    });
    expect([unload.status, unload.body]).toEqual([200, '']);
    expect(repository.stats().loadedModels).toBe(1);
    expect((await post('/v2/repository/models/b/unload')).status).toBe(200); // not loaded: nothing to do
  });

  it('keeps serving the others when a load fails, and says so without a path', async () => {
    const res = await post('/v2/repository/models/broken/load');
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.body).toEqual({ error: expect.any(String), code: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toContain(dir);
    expect((await infer('c')).body.outputs[0].data).toEqual([2, 3, 4, 5]);
    expect((await post('/v2/repository/index')).body.find((e: any) => e.name === 'broken')).toMatchObject({
      state: 'UNAVAILABLE',
      reason: res.body.code,
    });
  });

  it('refuses unknown, path-like and hostile names and bodies in OIP error shape', async () => {
    // `%2E%2E` is `..` to the URL parser: the path becomes /v2/repository/load, no route.
    expect((await post('/v2/repository/models/%2E%2E/load')).status).toBe(404);
    for (const name of ['nope', '..%2Fa', '..%5Ca', 'a%2F..%2F..%2Fetc%2Fpasswd', '__proto__', 'x'.repeat(2000)]) {
      const res = await post(`/v2/repository/models/${name}/load`);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('MODEL_NOT_FOUND');
      expect(res.body.error).toMatch(/^failed to load '.*', failed to poll from model repository/);
      expect(res.body.error.length).toBeLessThan(300);
    }
    const json = { ...auth, 'content-type': 'application/json' };
    const bad: [string, string, Record<string, string>, number][] = [
      ['/v2/repository/index', '{"ready": "yes"}', json, 400],
      ['/v2/repository/index', '[1]', json, 400],
      ['/v2/repository/index', '{', json, 400],
      ['/v2/repository/index', 'x'.repeat(70_000), json, 413],
      ['/v2/repository/index', '{}', { ...auth, 'content-type': 'text/plain' }, 415],
      ['/v2/repository/models/a/load', '{"parameters": {"config": "{}"}}', json, 400],
      ['/v2/repository/models/a/load', '{"parameters": {"file:1/model.onnx": "AAAA"}}', json, 400],
      ['/v2/repository/models/a/load', '{"parameters": []}', json, 400],
      ['/v2/repository/models/a/reload', '{}', json, 404],
      ['/v2/repository/models', '{}', json, 404],
    ];
    for (const [path, body, headers, status] of bad) {
      const res = await post(path, body, headers);
      expect([path, body.slice(0, 40), res.status]).toEqual([path, body.slice(0, 40), status]);
      expect(typeof res.body.error).toBe('string');
    }
    const get = await call(`${server.url}/v2/repository/index`, { headers: auth });
    expect(get.status).toBe(405);
  });

  it('settles concurrent loads and unloads of one model over HTTP', async () => {
    const results = await Promise.all(
      ['load', 'unload', 'load', 'unload', 'load'].map((a) => post(`/v2/repository/models/a/${a}`)),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(
      (await post('/v2/repository/index', '{"ready": true}', { ...auth, 'content-type': 'application/json' })).body.map(
        (e: any) => e.name,
      ),
    ).toContain('a');
    expect(repository.stats().loadedModels).toBeLessThanOrEqual(2);
    expect((await infer('a')).body.outputs[0].data).toEqual([2, 3, 4, 5]);
  });
});
