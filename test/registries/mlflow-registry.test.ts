import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelshipError } from '../../src/errors/index.js';
import { createMlflowRegistry, parseMlflowRef, type MlflowRegistry } from '../../src/registries/mlflow/index.js';
import { parseMlmodel } from '../../src/registries/mlflow/mlmodel.js';
import { tempDir } from '../helpers/models.js';
import { MlflowTestServer } from '../servers/mlflow/server.js';

const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text);
const fast = { retries: 1, retryDelayMs: 1, maxRetryDelayMs: 2 };

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(ModelshipError.isInstance(e), String(e)).toBe(true);
    return (e as ModelshipError).code;
  }
  return 'resolved';
}

describe('createMlflowRegistry', () => {
  let server: MlflowTestServer;
  let registry: MlflowRegistry;
  let cacheDir: string;

  beforeAll(async () => {
    server = new MlflowTestServer();
    await server.start();
    cacheDir = await tempDir();
    registry = createMlflowRegistry({ trackingUri: server.url, cacheDir, ...fast });
  });
  afterAll(() => server.stop());

  it('parses models:/ and bare references', () => {
    expect(parseMlflowRef('models:/mnist/3')).toEqual({ name: 'mnist', kind: 'version', version: '3' });
    expect(parseMlflowRef('models:/mnist@champion')).toEqual({ name: 'mnist', kind: 'alias', alias: 'champion' });
    expect(parseMlflowRef('models:/mnist/latest')).toEqual({ name: 'mnist', kind: 'latest' });
    expect(parseMlflowRef('mnist@champion')).toEqual({ name: 'mnist', kind: 'alias', alias: 'champion' });
    expect(parseMlflowRef('mnist/3')).toEqual({ name: 'mnist', kind: 'version', version: '3' });
    expect(() => parseMlflowRef('models:/mnist/Production')).toThrow(/use an alias/);
  });

  it('reads the env fallbacks and sends Bearer or Basic credentials; 401 is REGISTRY_AUTH_FAILED', async () => {
    const secured = new MlflowTestServer({ token: 't0ken' });
    await secured.start();
    const saved = { ...process.env };
    try {
      process.env.MLFLOW_TRACKING_URI = secured.url;
      process.env.MLFLOW_TRACKING_TOKEN = 't0ken';
      const viaEnv = createMlflowRegistry({ cacheDir, ...fast });
      await viaEnv.publish({ name: 'secured', bytes: bytesOf('s'), aliases: ['prod'] });
      expect((await viaEnv.resolve('secured@prod')).version).toBe('1');
      const wrong = createMlflowRegistry({ trackingUri: secured.url, token: 'nope', cacheDir, ...fast });
      const e = await codeOf(wrong.resolve('secured@prod'));
      expect(e).toBe('REGISTRY_AUTH_FAILED');
    } finally {
      process.env = saved;
      await secured.stop();
    }
    const basic = new MlflowTestServer({ basic: { username: 'ann', password: 'pw' } });
    await basic.start();
    try {
      const reg = createMlflowRegistry({ trackingUri: basic.url, username: 'ann', password: 'pw', cacheDir, ...fast });
      await reg.publish({ name: 'b', bytes: bytesOf('b') });
      expect((await reg.resolve('models:/b/1')).version).toBe('1');
    } finally {
      await basic.stop();
    }
  });

  it('pages through model-versions/search with percent-encoded tokens for latest and listing', async () => {
    for (let i = 0; i < 1001; i++) server.addVersion('many', `mlflow-artifacts:/many/${i}`);
    const latest = await registry.resolve('models:/many/latest');
    expect(latest.version).toBe('1001');
    expect(server.requests.filter((r) => r.endsWith('model-versions/search')).length).toBeGreaterThanOrEqual(2);
    expect((await registry.listVersions('many')).length).toBe(1001);
  });

  it('downloads versions whose source is runs:/ or mlflow-artifacts:/ (MLmodel → onnx data file)', async () => {
    const mlmodel = 'artifact_path: model\nflavors:\n  onnx:\n    code: null\n    data: net.onnx\n    onnx_version: 1.14.0\n  python_function:\n    data: net.onnx\n    loader_module: mlflow.onnx\n';
    server.runs.set('r1', 'mlflow-artifacts:/0/r1/artifacts');
    server.putArtifact('0/r1/artifacts/model/MLmodel', mlmodel);
    server.putArtifact('0/r1/artifacts/model/net.onnx', 'onnx bytes from a run');
    server.addVersion('fromrun', 'runs:/r1/model', { run_id: 'r1' });
    const resolved = await registry.resolve('fromrun/1');
    const artifact = await registry.fetch(resolved);
    expect(new TextDecoder().decode(await import('node:fs/promises').then((fs) => fs.readFile(artifact.path)))).toBe('onnx bytes from a run');
    artifact.release();
    expect(server.requests).toContain('GET /api/2.0/mlflow/runs/get');
  });

  it('refuses a model without an onnx flavor, naming the flavors it has', async () => {
    server.putArtifact('skl/MLmodel', 'flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n  sklearn:\n    pickled_model: model.pkl\n');
    server.addVersion('sk', 'mlflow-artifacts:/skl');
    let error: unknown;
    try {
      await registry.fetch(await registry.resolve('sk/1'));
    } catch (e) {
      error = e;
    }
    expect(ModelshipError.hasCode(error, 'UNSUPPORTED_MODEL_FORMAT')).toBe(true);
    expect((error as Error).message).toMatch(/python_function, sklearn/);
    expect(parseMlmodel("flavors:\n  onnx:\n    data: 'm.onnx'\n").flavors.onnx?.data).toBe('m.onnx');
  });

  it('maps MLflow errors: reserved aliases, unknown model/alias (400), unknown version (404), and retries 5xx', async () => {
    await registry.publish({ name: 'err', bytes: bytesOf('e'), aliases: ['prod'] });
    expect(await codeOf(registry.setAlias('err', 'latest', '1'))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(registry.setAlias('err', 'v2', '1'))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(registry.setAlias('err', 'ok', '7'))).toBe('VERSION_NOT_FOUND');
    expect(await codeOf(registry.resolve('nope@prod'))).toBe('MODEL_NOT_FOUND');
    expect(await codeOf(registry.resolve('err@nope'))).toBe('ALIAS_NOT_FOUND');
    expect(await codeOf(registry.resolve('err/4'))).toBe('VERSION_NOT_FOUND');
    await registry.deleteAlias('err', 'prod');
    expect(await codeOf(registry.resolve('err@prod'))).toBe('ALIAS_NOT_FOUND');
    server.failures = { count: 1, status: 503 };
    expect((await registry.resolve('err/1')).version).toBe('1');
    server.failures = { count: 5, status: 500 };
    const e = await codeOf(registry.resolve('err/1'));
    server.failures = { count: 0, status: 500 };
    expect(e).toBe('REGISTRY_UNAVAILABLE');
  });

  it('refuses invalid options', async () => {
    expect(await codeOf(Promise.resolve().then(() => createMlflowRegistry({ trackingUri: 'ftp://x' })))).toBe('INVALID_OPTIONS');
    expect(await codeOf(Promise.resolve().then(() => createMlflowRegistry({ trackingUri: server.url, bogus: 1 } as never)))).toBe('INVALID_OPTIONS');
  });
});
