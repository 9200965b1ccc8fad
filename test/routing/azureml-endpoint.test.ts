/**
 * Azure ML managed online endpoints as deployment versions, against the online endpoint test server (TLS, trusted
 * through `remote.fetch`) whose deployments run the real MNIST model: MLflow `input_data` and Triton v2 bodies, the
 * traffic split or one pinned deployment, key and Microsoft Entra auth (an injected TokenCredential, which is what
 * `DefaultAzureCredential` is replaced by), retries, model errors and hostile answers, and a deployment canarying,
 * shadowing and rolling back an endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentWith, loadModel, silentLogger, type ServableModel } from 'modelship';
import { optionSchemas } from 'modelship/node';
import { createAzureMlVersion } from '../../src/backends/remote/azureml.js';
import { ModelshipError } from '../../src/errors/index.js';
import { deploymentRegistry, digits, loaderWith } from '../helpers/deployments.js';
import { multiInputModel } from '../helpers/models.js';
import { until } from '../helpers/wait.js';
import { startOnlineEndpoint, type OnlineEndpointServer } from '../servers/azure/online-endpoint.js';
import { mlflowScoring, tritonScoring } from '../servers/azure/online-endpoint-scoring.js';

const { images } = digits(10);

describe('Azure ML managed online endpoints as deployment versions', () => {
  let server: OnlineEndpointServer;
  let container: ServableModel;
  let multi: ServableModel;
  let release: () => void = () => undefined;

  beforeAll(async () => {
    server = await startOnlineEndpoint();
    const registry = await deploymentRegistry();
    container = await loadModel('mnist/1', { registry, workers: 1, logger: silentLogger });
    const score = mlflowScoring(container);
    const triton = tritonScoring(container);
    server.state.deployments.set('blue', { score, triton: (_m, b) => triton(b) });
    server.state.deployments.set('green', { score });
    // A scoring script that raises on every request: Azure answers 424 with the container's status.
    server.state.deployments.set('broken', { score: async () => ({ status: 500, body: 'Exception: boom' }) });
    // A deployment that answers only when the test lets it (a timeout without sleeping).
    const held = new Promise<void>((resolve) => (release = resolve));
    server.state.deployments.set('stuck', { score: async (b) => (await held, score(b)) });
    // Five inputs of four dtypes (one of fixed shape), passed through: named tensors both ways.
    multi = await loadModel(multiInputModel(), { workers: 1, logger: silentLogger });
    server.state.deployments.set('multi', { score: mlflowScoring(multi) });
    server.state.traffic = { blue: 1, green: 99 };
  });
  afterAll(async () => {
    release();
    await Promise.all([container?.close(), multi?.close()]);
    await server?.close();
  });

  const remote = (extra: Record<string, unknown> = {}) => ({
    remote: {
      protocol: 'azureml' as const,
      scoringUri: server.scoringUri,
      auth: 'key' as const,
      key: server.state.keys.primary,
      signature: container.signature as never,
      fetch: server.fetch,
      retries: 2,
      ...extra,
    },
  });
  const labels = (out: Record<string, { data: unknown }>) => Array.from(out.label!.data as BigInt64Array, Number);

  it('answers a canary with MLflow input_data through the endpoint traffic split, as the model does in-process', async () => {
    const registry = await deploymentRegistry();
    const d = await createDeploymentWith(loaderWith(registry), {
      name: 'mnist',
      stable: 'mnist/1',
      canary: { ref: remote(), weight: 1 },
      logger: silentLogger,
    });
    try {
      server.state.calls.length = 0;
      for (let i = 0; i < 4; i++) {
        const answer = await d.predict([images[i]!], { routingKey: `k${i}` });
        expect(answer.version).toBe('azureml:127');
        const local = await container.predict([images[i]!]);
        expect(labels(answer.outputs)).toEqual(labels(local));
        expect(Array.from(answer.outputs.probabilities!.data as Float32Array)).toEqual(
          Array.from(local.probabilities!.data as Float32Array),
        );
      }
      // No pin: Azure's split (blue 1 %, green 99 %) chose; each request carried one 784-pixel row as input_data.
      expect(server.state.calls.map((c) => [c.pinned, c.served])).toEqual([
        [undefined, 'blue'],
        [undefined, 'green'],
        [undefined, 'green'],
        [undefined, 'green'],
      ]);
      const body = server.state.calls[0]!.body as { input_data: number[][] };
      expect(body.input_data).toHaveLength(1);
      expect(body.input_data[0]).toHaveLength(784);
      expect(d.status().canary).toMatchObject({ version: 'azureml:127', stats: { requests: 4, errors: 0 } });
    } finally {
      await d.close();
    }
  });

  it('shadows one pinned deployment (azureml-model-deployment), callers served by stable', async () => {
    const registry = await deploymentRegistry();
    const d = await createDeploymentWith(loaderWith(registry), {
      name: 'mnist',
      stable: 'mnist/1',
      shadow: { ref: remote({ deployment: 'green' }), sampleRate: 1, compare: 'argmax' },
      logger: silentLogger,
    });
    try {
      server.state.calls.length = 0;
      for (let i = 0; i < 4; i++) expect((await d.predict([images[i]!])).version).toBe('1');
      await until(() => d.status().shadow!.mirror.completed === 4, 'the four mirrored requests');
      expect(d.status().shadow).toMatchObject({
        version: 'azureml:127/green',
        ref: 'azureml-endpoint:127/green',
        mirror: { failed: 0, dropped: 0 },
      });
      expect(server.state.calls.every((c) => c.pinned === 'green' && c.served === 'green')).toBe(true);
    } finally {
      await d.close();
    }
  });

  it("counts a deployment's model errors (424) as canary errors, and guardrails roll it back", async () => {
    const registry = await deploymentRegistry();
    const d = await createDeploymentWith(loaderWith(registry), {
      name: 'mnist',
      stable: 'mnist/1',
      canary: { ref: remote({ deployment: 'broken' }), weight: 1 },
      guardrails: { maxErrorRate: 0.5, minRequests: 3, interval: '1h' },
      logger: silentLogger,
    });
    try {
      const rollbacks: unknown[] = [];
      d.on('rollback', (e) => rollbacks.push(e));
      for (let i = 0; i < 3; i++) {
        const e = await d.predict([images[i]!], { routingKey: `k${i}` }).catch((x: unknown) => x);
        expect(ModelshipError.hasCode(e, 'UPSTREAM_ERROR'), String(e)).toBe(true);
        expect((e as Error).message).toMatch(/HTTP 424, container status 500/);
      }
      expect(d.status().canary!.stats).toMatchObject({ requests: 3, errors: 3 });
      d.evaluate();
      expect(rollbacks).toMatchObject([{ kind: 'canary', reason: 'guardrail' }]);
      expect((await d.predict([images[0]!])).version).toBe('1');
    } finally {
      await d.close();
    }
  });

  it('speaks v2 to a Triton deployment at /v2/models/<m>/infer, and refuses an answer from another deployment', async () => {
    const v2 = await createAzureMlVersion(remote({ format: 'v2', model: 'mnist', deployment: 'blue' }).remote);
    const pinned = await createAzureMlVersion(remote({ deployment: 'blue' }).remote);
    try {
      server.state.calls.length = 0;
      const out = await v2.predict([images[0]!, images[1]!]);
      expect(labels(out)).toEqual(labels(await container.predict([images[0]!, images[1]!])));
      expect(server.state.calls[0]).toMatchObject({ path: '/v2/models/mnist/infer', served: 'blue' });
      expect((server.state.calls[0]!.body as { inputs: unknown[] }).inputs).toHaveLength(1);
      // A router that drops the header answers from the split (green at this slot): the pinned version refuses it.
      server.state.ignorePinHeader = true;
      const e = await pinned.predict([images[0]!]).catch((x: unknown) => x);
      server.state.ignorePinHeader = false;
      expect(ModelshipError.hasCode(e, 'UPSTREAM_ERROR') && /deployment green/.test((e as Error).message)).toBe(true);
    } finally {
      await Promise.all([v2.close(), pinned.close()]);
    }
  });

  it('sends several inputs as MLflow named tensors and reads named outputs of each dtype back', async () => {
    const version = await createAzureMlVersion(remote({ deployment: 'multi', signature: multi.signature }).remote);
    const input = {
      features: [
        [1.5, 2, 3],
        [4, 5, 6.25],
      ],
      ids: [7, 9_007_199_254_740_991],
      mask: [
        [true, false],
        [false, true],
      ],
      fixed: [
        [1, 2],
        [3, 4],
      ],
      flags: [0, 255],
    };
    try {
      server.state.calls.length = 0;
      const out = await version.predict(input);
      const local = await multi.predict(input);
      for (const name of Object.keys(local)) {
        expect(out[name]!.dtype, name).toBe(local[name]!.dtype);
        expect(out[name]!.shape, name).toEqual(local[name]!.shape);
        expect(Array.from(out[name]!.data as ArrayLike<unknown>), name).toEqual(
          Array.from(local[name]!.data as ArrayLike<unknown>),
        );
      }
      expect(Object.keys((server.state.calls[0]!.body as { input_data: object }).input_data).sort()).toEqual([
        'features',
        'fixed',
        'flags',
        'ids',
        'mask',
      ]);
    } finally {
      await version.close();
    }
  });

  it('sends the key from options or AZUREML_ENDPOINT_KEY; a wrong key is REGISTRY_AUTH_FAILED without the key', async () => {
    const before = process.env.AZUREML_ENDPOINT_KEY;
    process.env.AZUREML_ENDPOINT_KEY = server.state.keys.secondary;
    try {
      const fromEnv = await createAzureMlVersion(remote({ key: undefined }).remote);
      expect(labels(await fromEnv.predict([images[0]!]))).toHaveLength(1);
      delete process.env.AZUREML_ENDPOINT_KEY;
      await expect(createAzureMlVersion(remote({ key: undefined }).remote)).rejects.toMatchObject({
        code: 'INVALID_OPTIONS',
      });
    } finally {
      if (before === undefined) delete process.env.AZUREML_ENDPOINT_KEY;
      else process.env.AZUREML_ENDPOINT_KEY = before;
    }
    const wrong = await createAzureMlVersion(remote({ key: 'not-the-key-0123456789' }).remote);
    const denied = await wrong.predict([images[0]!]).catch((e: unknown) => e);
    expect(ModelshipError.hasCode(denied, 'REGISTRY_AUTH_FAILED'), String(denied)).toBe(true);
    expect((denied as Error).message).toMatch(/get-credentials/);
    expect(JSON.stringify(denied) + String(denied)).not.toContain('not-the-key');
  });

  it('gets a Microsoft Entra token for https://ml.azure.com/.default from the credential (auth: aad)', async () => {
    const scopes: unknown[] = [];
    const token = `aad-${crypto.randomUUID()}`;
    const credential = {
      getToken: async (s: string | string[]) => (scopes.push(s), { token, expiresOnTimestamp: Date.now() + 3_600_000 }),
    };
    server.state.authMode = 'aad_token';
    server.state.aadTokens.add(token);
    try {
      const aad = await createAzureMlVersion(remote({ auth: 'aad', key: undefined, credential }).remote);
      expect(labels(await aad.predict([images[0]!]))).toEqual(labels(await container.predict([images[0]!])));
      await aad.predict([images[1]!]);
      // One token, reused until close to its expiry.
      expect(scopes).toEqual(['https://ml.azure.com/.default']);
      // The endpoint takes tokens now: a key is refused.
      const keyed = await createAzureMlVersion(remote().remote);
      const e = await keyed.predict([images[0]!]).catch((x: unknown) => x);
      expect(ModelshipError.hasCode(e, 'REGISTRY_AUTH_FAILED')).toBe(true);
      const stranger = { getToken: async () => ({ token: 'expired', expiresOnTimestamp: Date.now() + 3_600_000 }) };
      const other = await createAzureMlVersion(remote({ auth: 'aad', key: undefined, credential: stranger }).remote);
      const e2 = await other.predict([images[0]!]).catch((x: unknown) => x);
      expect(ModelshipError.hasCode(e2, 'REGISTRY_AUTH_FAILED') && /aad_token/.test((e2 as Error).message)).toBe(true);
    } finally {
      server.state.authMode = 'key';
    }
  });

  it('retries 429 (a short Retry-After) and 503, fails fast on a long Retry-After, maps 404 and 408', async () => {
    const version = await createAzureMlVersion(remote({ deployment: 'blue' }).remote);
    try {
      server.state.faults.push(
        { path: /score/, status: 429, headers: { 'retry-after': '0' }, times: 1 },
        { path: /score/, status: 503, times: 1 },
      );
      expect(labels(await version.predict([images[0]!]))).toHaveLength(1);
      server.state.faults.push({ path: /score/, status: 429, headers: { 'retry-after': '30' }, times: 1 });
      const busy = await version.predict([images[0]!]).catch((e: unknown) => e);
      expect(busy).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', details: { status: 429, retryAfterMs: 30_000 } });
      server.state.faults.push({ path: /score/, status: 503, times: 5 });
      const down = await version.predict([images[0]!]).catch((e: unknown) => e);
      expect(ModelshipError.hasCode(down, 'UPSTREAM_UNAVAILABLE'), String(down)).toBe(true);
      server.state.faults.length = 0;
      server.state.faults.push({ path: /score/, status: 408, times: 3 });
      const slow = await version.predict([images[0]!]).catch((e: unknown) => e);
      expect(slow).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', details: { status: 408 } });
      expect(server.state.faults[0]!.times).toBe(2); // a 408 is not sent again
      server.state.faults.length = 0;
      const missing = await createAzureMlVersion(remote({ deployment: 'purple' }).remote);
      const nf = await missing.predict([images[0]!]).catch((e: unknown) => e);
      expect(ModelshipError.hasCode(nf, 'UPSTREAM_ERROR') && /no deployment purple/.test((nf as Error).message)).toBe(
        true,
      );
      const stuck = await createAzureMlVersion(remote({ deployment: 'stuck', timeoutMs: 200, retries: 0 }).remote);
      const timedOut = await stuck.predict([images[0]!]).catch((e: unknown) => e);
      expect(
        ModelshipError.hasCode(timedOut, 'UPSTREAM_UNAVAILABLE') && /within 200 ms/.test((timedOut as Error).message),
      ).toBe(true);
    } finally {
      server.state.faults.length = 0;
      await version.close();
    }
  });

  it('refuses hostile answers as UPSTREAM_ERROR: not JSON, too large, ragged, missing outputs, an echoed key', async () => {
    const version = await createAzureMlVersion(remote({ deployment: 'blue', maxResponseBytes: 4096 }).remote);
    const ok = { 'content-type': 'application/json', 'azureml-model-deployment': 'blue' };
    const cases: [string, NonNullable<typeof server.state.hostile>, RegExp][] = [
      ['html', { status: 200, headers: ok, body: '<html>oops</html>' }, /not JSON/],
      ['huge', { status: 200, headers: ok, body: `[${'1,'.repeat(100_000)}1]` }, /more than 4096 bytes/],
      ['ragged', { status: 200, headers: ok, body: '{"probabilities":[[1,2],[3]],"label":[1]}' }, /ragged|row/],
      ['strings', { status: 200, headers: ok, body: '{"probabilities":[["x"]],"label":[1]}' }, /not a number/],
      ['missing', { status: 200, headers: ok, body: '{"label":[1]}' }, /probabilities/],
      ['scalar', { status: 200, headers: ok, body: '42' }, /neither a list nor an object/],
      ['bare list', { status: 200, headers: ok, body: '[[1,2]]' }, /unnamed tensor/],
      [
        'echo',
        { status: 400, headers: ok, body: JSON.stringify({ message: `bad key ${server.state.keys.primary}` }) },
        /HTTP 400: bad key \*\*\*/,
      ],
    ];
    try {
      for (const [name, hostile, why] of cases) {
        server.state.hostile = hostile;
        const e = await version.predict([images[0]!]).catch((x: unknown) => x);
        expect(ModelshipError.hasCode(e, 'UPSTREAM_ERROR'), `${name}: ${String(e)}`).toBe(true);
        expect((e as Error).message, name).toMatch(why);
        expect((e as Error).message).not.toContain(server.state.keys.primary);
      }
    } finally {
      server.state.hostile = undefined;
      await version.close();
    }
  });

  it('refuses bad options (INVALID_OPTIONS), and the config schema accepts an azureml version', async () => {
    for (const extra of [
      { scoringUri: 'http://fraud.westeurope.inference.ml.azure.com/score' },
      { scoringUri: 'https://user:pw@fraud.westeurope.inference.ml.azure.com/score' },
      { format: 'v2' },
      { model: 'mnist' },
      { deployment: 'x' },
      { auth: 'token' },
    ])
      await expect(createAzureMlVersion(remote(extra).remote as never), JSON.stringify(extra)).rejects.toMatchObject({
        code: 'INVALID_OPTIONS',
      });
    const parsed = optionSchemas.deployment.safeParse({
      name: 'fraud',
      stable: 'fraud@production',
      canary: {
        ref: {
          remote: {
            ...remote().remote,
            fetch: undefined,
            scoringUri: 'https://f.westeurope.inference.ml.azure.com/score',
          },
        },
        weight: 0.1,
      },
    });
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  });
});
