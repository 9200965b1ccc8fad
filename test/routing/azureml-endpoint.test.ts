/**
 * Azure ML managed online endpoints as deployment versions, against the online endpoint test server (TLS, trusted
 * through `remote.fetch`) whose deployments run the real MNIST model: MLflow `input_data` and Triton v2 bodies, the
 * traffic split or one pinned deployment, key and Microsoft Entra auth (an injected TokenCredential, which is what
 * `DefaultAzureCredential` is replaced by), model errors, and a deployment canarying, shadowing and rolling back an
 * endpoint. Retries, timeouts and hostile answers: azureml-endpoint-failures.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentWith, loadModel, silentLogger, type ServableModel } from 'modelship';
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
    // Five inputs of four dtypes (one of fixed shape), passed through: named tensors both ways.
    multi = await loadModel(multiInputModel(), { workers: 1, logger: silentLogger });
    server.state.deployments.set('multi', { score: mlflowScoring(multi) });
    server.state.traffic = { blue: 1, green: 99 };
  });
  afterAll(async () => {
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
});
