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
    const mlmodel =
      'artifact_path: model\nflavors:\n  onnx:\n    code: null\n    data: net.onnx\n    onnx_version: 1.14.0\n  python_function:\n    data: net.onnx\n    loader_module: mlflow.onnx\n';
    server.runs.set('r1', 'mlflow-artifacts:/0/r1/artifacts');
    server.putArtifact('0/r1/artifacts/model/MLmodel', mlmodel);
    server.putArtifact('0/r1/artifacts/model/net.onnx', 'onnx bytes from a run');
    server.addVersion('fromrun', 'runs:/r1/model', { run_id: 'r1' });
    const resolved = await registry.resolve('fromrun/1');
    const artifact = await registry.fetch(resolved);
    expect(new TextDecoder().decode(await import('node:fs/promises').then((fs) => fs.readFile(artifact.path)))).toBe(
      'onnx bytes from a run',
    );
    artifact.release();
    expect(server.requests).toContain('GET /api/2.0/mlflow/runs/get');
  });

  it('refuses a model without an onnx flavor, naming the flavors it has', async () => {
    server.putArtifact(
      'skl/MLmodel',
      'flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n  sklearn:\n    pickled_model: model.pkl\n',
    );
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

  it('treats an MLflow 4xx as final: one registered-models/alias call for an unknown alias, one create for a refused version', async () => {
    const patient = createMlflowRegistry({
      trackingUri: server.url,
      cacheDir,
      retries: 3,
      retryDelayMs: 1,
      maxRetryDelayMs: 2,
    });
    await patient.publish({ name: 'final', bytes: bytesOf('f'), aliases: ['prod'] });
    const count = (route: string): number => server.requests.filter((r) => r === route).length;
    const aliasCalls = count('GET /api/2.0/mlflow/registered-models/alias');
    expect(await codeOf(patient.resolve('models:/final@no-such-alias'))).toBe('ALIAS_NOT_FOUND');
    expect(count('GET /api/2.0/mlflow/registered-models/alias') - aliasCalls).toBe(1);
    const getCalls = count('GET /api/2.0/mlflow/model-versions/get');
    expect(await codeOf(patient.resolve('final/9'))).toBe('VERSION_NOT_FOUND');
    expect(count('GET /api/2.0/mlflow/model-versions/get') - getCalls).toBe(1);
    // A create is not idempotent: neither a 400 nor a 503 after the request reached the server is sent again.
    for (const [status, errorCode, code] of [
      [400, 'INVALID_PARAMETER_VALUE', 'INVALID_ARGUMENT'],
      [503, 'TEMPORARILY_UNAVAILABLE', 'REGISTRY_UNAVAILABLE'],
    ] as const) {
      const creates = count('POST /api/2.0/mlflow/model-versions/create');
      server.routeFailures.push({ route: 'POST model-versions/create', status, errorCode, count: 4 });
      expect(await codeOf(patient.publish({ name: 'final', bytes: bytesOf(`f${status}`) }))).toBe(code);
      server.routeFailures.length = 0;
      expect(count('POST /api/2.0/mlflow/model-versions/create') - creates).toBe(1);
    }
  });

  it('reports aliases in listVersions and latest/bare-name resolution although model-versions/search carries none', async () => {
    await registry.publish({ name: 'al', bytes: bytesOf('a1'), aliases: ['champion'] });
    await registry.publish({ name: 'al', bytes: bytesOf('a2'), aliases: ['candidate', 'canary'] });
    // As MLflow 2.10's SQL store answers: search results have no aliases field.
    const search = (await (
      await fetch(`${server.url}/api/2.0/mlflow/model-versions/search?filter=${encodeURIComponent("name='al'")}`)
    ).json()) as {
      model_versions: Record<string, unknown>[];
    };
    expect(search.model_versions.map((v) => 'aliases' in v)).toEqual([false, false]);
    const listed = await registry.listVersions('al');
    expect(listed.map((v) => [v.version, v.aliases])).toEqual([
      ['1', ['champion']],
      ['2', ['canary', 'candidate']],
    ]);
    expect((await registry.resolve('al')).aliases).toEqual(['canary', 'candidate']);
    expect((await registry.resolve('models:/al/latest')).aliases).toEqual(['canary', 'candidate']);
    expect((await registry.resolve('al@champion')).aliases).toEqual(['champion']);
  });

  it('records lineage on publish and returns it from resolve and listVersions, however long', async () => {
    const lineage = {
      run: { runId: 'abc123', trackingUri: server.url, experimentId: '1' },
      git: { commit: 'a'.repeat(40), dirty: false, branch: 'main' },
      datasets: [{ path: 'data/train.csv', sha256: 'b'.repeat(64), size: 12 }],
    };
    const published = await registry.publish({ name: 'lin', bytes: bytesOf('l1'), aliases: ['prod'], lineage });
    expect(published.lineage).toEqual(lineage);
    expect((await registry.resolve('lin@prod')).lineage).toEqual(lineage);
    expect((await registry.resolve('lin')).lineage).toEqual(lineage);
    // Longer than one MLflow tag value (5,000 characters).
    const big = {
      datasets: Array.from({ length: 120 }, (_, i) => ({
        path: `data/shard-${i}-é.csv`,
        sha256: 'c'.repeat(64),
        size: i,
      })),
    };
    expect(JSON.stringify(big).length).toBeGreaterThan(10_000);
    await registry.publish({ name: 'lin', bytes: bytesOf('l2'), lineage: big });
    expect((await registry.resolve('lin/2')).lineage).toEqual(big);
    expect((await registry.listVersions('lin')).map((v) => v.lineage)).toEqual([lineage, big]);
    const puts = server.requests.filter((r) => r.startsWith('PUT ')).length;
    expect(
      await codeOf(
        registry.publish({ name: 'lin', bytes: bytesOf('l3'), lineage: { git: { commit: 'nope' } } as never }),
      ),
    ).toBe('INVALID_ARGUMENT');
    expect(server.requests.filter((r) => r.startsWith('PUT ')).length).toBe(puts);
  });

  it('refuses metadata over 5,000 characters before uploading anything', async () => {
    const before = server.requests.length;
    const e = await codeOf(
      registry.publish({ name: 'meta', bytes: bytesOf('m'), metadata: { notes: 'x'.repeat(5000) } }),
    );
    expect(e).toBe('INVALID_ARGUMENT');
    expect(server.requests.slice(before).filter((r) => r.startsWith('PUT ') || r.endsWith('/create'))).toEqual([]);
  });

  it('writes an MLmodel that mlflow.pyfunc can load: a python_function flavor over mlflow.onnx, with its env files', async () => {
    await registry.publish({ name: 'py', bytes: bytesOf('p') });
    const dir = [...server.artifacts.keys()]
      .find((k) => k.startsWith('modelship/py/') && k.endsWith('/MLmodel'))
      ?.replace(/\/MLmodel$/, '') as string;
    const mlmodel = parseMlmodel(server.artifacts.get(`${dir}/MLmodel`)?.toString() ?? '');
    expect(mlmodel.flavors.python_function).toMatchObject({ loader_module: 'mlflow.onnx', data: 'model.onnx' });
    expect(mlmodel.flavors.python_function?.python_version).toMatch(/^3\.\d+\.\d+$/);
    expect(mlmodel.flavors.onnx).toMatchObject({ data: 'model.onnx' });
    const text = server.artifacts.get(`${dir}/MLmodel`)?.toString() ?? '';
    expect(text).toMatch(/ {4}env:\n {6}conda: conda.yaml\n {6}virtualenv: python_env.yaml\n/);
    for (const file of ['conda.yaml', 'python_env.yaml', 'requirements.txt'])
      expect(server.artifacts.has(`${dir}/${file}`), file).toBe(true);
  });

  it('publishing with runId reuses the ONNX file the run already logged instead of storing it again', async () => {
    const onnx = bytesOf('the trained model');
    server.runs.set('run7', 'mlflow-artifacts:/3/run7/artifacts');
    server.putArtifact('3/run7/artifacts/model/model.onnx', onnx);
    server.putArtifact('3/run7/artifacts/model/other.onnx', bytesOf('same size, other bytes'.slice(0, onnx.length)));
    const published = await registry.publish({ name: 'withrun', bytes: onnx, runId: 'run7' });
    const stored = [...server.artifacts].filter(([, b]) => Buffer.compare(b, Buffer.from(onnx)) === 0).map(([k]) => k);
    expect(stored).toEqual(['3/run7/artifacts/model/model.onnx']);
    expect(published.metadata).toMatchObject({
      mlflow: { runId: 'run7', source: 'mlflow-artifacts:/3/run7/artifacts/model' },
    });
    const artifact = await registry.fetch(await registry.resolve('withrun/1'));
    expect(new Uint8Array(await import('node:fs/promises').then((fs) => fs.readFile(artifact.path)))).toEqual(onnx);
    artifact.release();
    // A run without the file gets it uploaded once.
    server.runs.set('run8', 'mlflow-artifacts:/3/run8/artifacts');
    await registry.publish({ name: 'withrun', bytes: bytesOf('fresh model'), runId: 'run8' });
    expect([...server.artifacts].filter(([, b]) => b.toString() === 'fresh model').length).toBe(1);
  });

  it('takes Basic credentials from the tracking URI and MLFLOW_TRACKING_* as MLflow clients do, never showing them', async () => {
    const basic = new MlflowTestServer({ basic: { username: 'ann', password: 's3cret' } });
    await basic.start();
    const saved = { ...process.env };
    try {
      const unauth = await fetch(`${basic.url}/api/2.0/mlflow/registered-models/get?name=x`);
      expect([unauth.status, unauth.headers.get('www-authenticate')]).toEqual([401, 'Basic realm="mlflow"']);
      const withUri = `http://ann:s3cret@${basic.url.slice('http://'.length)}`;
      const reg = createMlflowRegistry({ trackingUri: withUri, cacheDir, ...fast });
      expect(reg.trackingUri).toBe(basic.url);
      await reg.publish({ name: 'uri', bytes: bytesOf('u'), aliases: ['prod'] });
      const artifact = await reg.fetch(await reg.resolve('uri@prod'));
      artifact.release();
      for (const key of [
        'MLFLOW_TRACKING_URI',
        'MLFLOW_TRACKING_TOKEN',
        'MLFLOW_TRACKING_USERNAME',
        'MLFLOW_TRACKING_PASSWORD',
      ])
        delete process.env[key];
      process.env.MLFLOW_TRACKING_URI = withUri;
      expect((await createMlflowRegistry({ cacheDir, ...fast }).resolve('uri@prod')).version).toBe('1');
      // Username and password win over a token, as in mlflow.utils.rest_utils.http_request.
      process.env.MLFLOW_TRACKING_URI = basic.url;
      process.env.MLFLOW_TRACKING_USERNAME = 'ann';
      process.env.MLFLOW_TRACKING_PASSWORD = 's3cret';
      process.env.MLFLOW_TRACKING_TOKEN = 'not-for-basic';
      expect((await createMlflowRegistry({ cacheDir, ...fast }).resolve('uri@prod')).version).toBe('1');
      let error: unknown;
      try {
        await createMlflowRegistry({
          trackingUri: `http://ann:wrong-pw@${basic.url.slice('http://'.length)}`,
          cacheDir,
          ...fast,
        }).resolve('uri/1');
      } catch (e) {
        error = e;
      }
      expect(ModelshipError.hasCode(error, 'REGISTRY_AUTH_FAILED')).toBe(true);
      expect(JSON.stringify([(error as Error).message, (error as ModelshipError).details])).not.toMatch(
        /wrong-pw|s3cret/,
      );
    } finally {
      process.env = saved;
      await basic.stop();
    }
  });

  it('refuses invalid options', async () => {
    expect(await codeOf(Promise.resolve().then(() => createMlflowRegistry({ trackingUri: 'ftp://x' })))).toBe(
      'INVALID_OPTIONS',
    );
    expect(
      await codeOf(Promise.resolve().then(() => createMlflowRegistry({ trackingUri: server.url, bogus: 1 } as never))),
    ).toBe('INVALID_OPTIONS');
  });
});
