/**
 * Vertex AI endpoints as deployment versions, against the Vertex test server whose deployed models run the real MNIST
 * model: `:predict` instances/predictions, `:rawPredict` with KServe v2 bodies, the endpoint's traffic split or one
 * pinned deployed model, retries, auth and refusals, and a deployment canarying and shadowing an endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentWith, loadModel, silentLogger, type ServableModel } from 'modelship';
import { createVertexVersion } from '../../src/backends/remote/vertex.js';
import { toOipDatatype } from '../../src/core/oip-datatype.js';
import { ModelshipError } from '../../src/errors/index.js';
import { deploymentRegistry, digits, loaderWith } from '../helpers/deployments.js';
import { until } from '../helpers/wait.js';
import { startVertexServer, type VertexTestServer } from '../servers/vertex/server.js';

const { images } = digits(10);
const ENDPOINT = 'projects/modelship-test/locations/us-central1/endpoints/4242';

describe('Vertex AI endpoints as deployment versions', () => {
  let server: VertexTestServer;
  let container: ServableModel;

  beforeAll(async () => {
    server = await startVertexServer();
    const registry = await deploymentRegistry();
    // The model behind both deployed models: a custom container answering Vertex's JSON (predict) and v2 (raw).
    container = await loadModel('mnist/1', { registry, workers: 1, logger: silentLogger });
    const serve = async (body: unknown, raw: boolean): Promise<unknown> => {
      if (raw) {
        const first = (body as { inputs: { shape: number[]; data: number[] }[] }).inputs[0]!;
        const rows = Array.from({ length: first.shape[0]! }, (_, i) =>
          first.data.slice(i * first.shape[1]!, (i + 1) * first.shape[1]!),
        );
        const out = await container.predict(rows);
        return {
          outputs: Object.entries(out).map(([name, t]) => ({
            name,
            datatype: toOipDatatype(t.dtype),
            shape: t.shape,
            data: Array.from(t.data as ArrayLike<number | bigint>, Number),
          })),
        };
      }
      const instances = body as number[][];
      const out = await container.predict(instances);
      const probs = Array.from(out.probabilities!.data as Float32Array);
      return instances.map((_, i) => ({
        probabilities: probs.slice(i * 10, (i + 1) * 10),
        label: Number((out.label!.data as BigInt64Array)[i]),
      }));
    };
    server.vertex.endpoints.set('4242', {
      deployed: new Map([
        ['111', serve],
        ['222', serve],
      ]),
      trafficSplit: { '111': 100, '222': 0 },
    });
    // A deployed model whose container answers no predictions: every call is an upstream error.
    server.vertex.endpoints.set('5000', { deployed: new Map([['333', () => []]]), trafficSplit: { '333': 100 } });
    // Hostile containers: ragged rows, strings where numbers belong, an object where a row belongs.
    const hostile: [string, unknown][] = [
      ['6001', [{ probabilities: [[1, 2], [3]], label: 1 }]],
      ['6002', [{ probabilities: ['x'], label: 1 }]],
      ['6003', [{ probabilities: { 0: 1 }, label: 1 }]],
    ];
    for (const [id, answer] of hostile)
      server.vertex.endpoints.set(id, { deployed: new Map([['9', () => answer]]), trafficSplit: { '9': 100 } });
  });
  afterAll(async () => {
    await container?.close();
    await server?.close();
  });

  const remote = (extra: Record<string, unknown> = {}) => ({
    remote: {
      protocol: 'vertex' as const,
      endpoint: ENDPOINT,
      signature: container.signature as never,
      apiEndpoint: server.url,
      credentials: server.account.keyFile,
      retries: 2,
      ...extra,
    },
  });

  it('answers :predict through a deployment canary as the model does in-process, nested rows intact', async () => {
    const registry = await deploymentRegistry();
    const d = await createDeploymentWith(loaderWith(registry), {
      name: 'mnist',
      stable: 'mnist/1',
      canary: { ref: remote(), weight: 1 },
      logger: silentLogger,
    });
    try {
      server.vertex.endpointCalls.length = 0;
      for (let i = 0; i < 4; i++) {
        const answer = await d.predict([images[i]!], { routingKey: `k${i}` });
        expect(answer.version).toBe('vertex:4242');
        const local = await container.predict([images[i]!]);
        expect(Number((answer.outputs.label!.data as BigInt64Array)[0])).toBe(
          Number((local.label!.data as BigInt64Array)[0]),
        );
        expect(Array.from(answer.outputs.probabilities!.data as Float32Array)).toEqual(
          Array.from(local.probabilities!.data as Float32Array),
        );
      }
      // The endpoint's traffic split (111: 100 %) picked the deployed model; each instance stayed an array of 784.
      expect(server.vertex.endpointCalls.map((c) => c.deployedModelId)).toEqual(['111', '111', '111', '111']);
      const instance = (server.vertex.endpointCalls[0]!.body as { instances: unknown[] }).instances[0];
      expect(Array.isArray(instance) && instance.length).toBe(784);
      expect(d.status().canary).toMatchObject({ version: 'vertex:4242', stats: { requests: 4, errors: 0 } });
    } finally {
      await d.close();
    }
  });

  it('shadows an endpoint: every request mirrored, the answers compared, the callers served by stable', async () => {
    const registry = await deploymentRegistry();
    const d = await createDeploymentWith(loaderWith(registry), {
      name: 'mnist',
      stable: 'mnist/1',
      shadow: { ref: remote(), sampleRate: 1, compare: 'argmax' },
      logger: silentLogger,
    });
    try {
      for (let i = 0; i < 4; i++) expect((await d.predict([images[i]!])).version).toBe('1');
      await until(() => d.status().shadow!.mirror.completed === 4, 'the four mirrored requests');
      expect(d.status().shadow).toMatchObject({ version: 'vertex:4242', mirror: { failed: 0, dropped: 0 } });
    } finally {
      await d.close();
    }
  });

  it('counts a failing endpoint canary as errors, and guardrails roll it back', async () => {
    const registry = await deploymentRegistry();
    const d = await createDeploymentWith(loaderWith(registry), {
      name: 'mnist',
      stable: 'mnist/1',
      canary: { ref: remote({ endpoint: 'projects/modelship-test/locations/us-central1/endpoints/5000' }), weight: 1 },
      guardrails: { maxErrorRate: 0.5, minRequests: 3, interval: '1h' },
      logger: silentLogger,
    });
    try {
      const rollbacks: unknown[] = [];
      d.on('rollback', (e) => rollbacks.push(e));
      for (let i = 0; i < 3; i++) {
        const e = await d.predict([images[i]!], { routingKey: `k${i}` }).catch((x: unknown) => x);
        expect(ModelshipError.hasCode(e, 'UPSTREAM_ERROR'), String(e)).toBe(true);
      }
      expect(d.status().canary!.stats).toMatchObject({ requests: 3, errors: 3 });
      d.evaluate();
      expect(rollbacks).toMatchObject([{ kind: 'canary', reason: 'guardrail' }]);
      expect((await d.predict([images[0]!])).version).toBe('1');
    } finally {
      await d.close();
    }
  });

  it('pins one deployed model, and speaks :rawPredict with v2 bodies', async () => {
    const pinned = await createVertexVersion(remote({ deployedModelId: '222' }).remote as never);
    const raw = await createVertexVersion(remote({ method: 'rawPredict' }).remote as never);
    try {
      server.vertex.endpointCalls.length = 0;
      expect(pinned.version).toBe('vertex:4242/222');
      const a = await pinned.predict([images[0]!, images[1]!]);
      const b = await raw.predict([images[0]!, images[1]!]);
      const local = await container.predict([images[0]!, images[1]!]);
      for (const out of [a, b])
        expect(Array.from(out.label!.data as BigInt64Array)).toEqual(Array.from(local.label!.data as BigInt64Array));
      expect(server.vertex.endpointCalls.map((c) => c.deployedModelId)).toEqual(['222', '111']);
      expect((server.vertex.endpointCalls[1]!.body as { inputs: unknown[] }).inputs).toHaveLength(1);
      // An endpoint that ignores the pin answers from 111 (its split): the pinned version refuses that answer.
      server.vertex.ignorePinHeader = true;
      const e = await pinned.predict([images[0]!]).catch((x: unknown) => x);
      server.vertex.ignorePinHeader = false;
      expect(
        ModelshipError.hasCode(e, 'UPSTREAM_ERROR') && /deployed model 111/.test((e as Error).message),
        String(e),
      ).toBe(true);
    } finally {
      await Promise.all([pinned.close(), raw.close()]);
    }
  });

  it('retries 429 and 503, then UPSTREAM_UNAVAILABLE; 401 is REGISTRY_AUTH_FAILED; unknown endpoints UPSTREAM_ERROR', async () => {
    const version = await createVertexVersion(remote().remote as never);
    try {
      server.vertex.faults.push(
        { path: /:predict$/, status: 429, times: 1 },
        { path: /:predict$/, status: 503, times: 1 },
      );
      expect((await version.predict([images[0]!])).label).toBeDefined();
      server.vertex.faults.push({ path: /:predict$/, status: 503, times: 5 });
      const down = await version.predict([images[0]!]).catch((e: unknown) => e);
      expect(ModelshipError.hasCode(down, 'UPSTREAM_UNAVAILABLE'), String(down)).toBe(true);
      server.vertex.faults.length = 0;
      const stranger = await createVertexVersion(
        remote({ credentials: undefined, accessToken: 'ya29.nope' }).remote as never,
      );
      const denied = await stranger.predict([images[0]!]).catch((e: unknown) => e);
      expect(ModelshipError.hasCode(denied, 'REGISTRY_AUTH_FAILED'), String(denied)).toBe(true);
      expect(String((denied as Error).message)).not.toContain('ya29');
      const missing = await createVertexVersion(
        remote({ endpoint: 'projects/modelship-test/locations/us-central1/endpoints/999' }).remote as never,
      );
      const nf = await missing.predict([images[0]!]).catch((e: unknown) => e);
      expect(ModelshipError.hasCode(nf, 'UPSTREAM_ERROR') && /NOT_FOUND/.test((nf as Error).message), String(nf)).toBe(
        true,
      );
      for (const id of ['6001', '6002', '6003']) {
        const h = await createVertexVersion(
          remote({ endpoint: `projects/modelship-test/locations/us-central1/endpoints/${id}` }).remote as never,
        );
        const e = await h.predict([images[0]!]).catch((x: unknown) => x);
        expect(ModelshipError.hasCode(e, 'UPSTREAM_ERROR'), `${id}: ${String(e)}`).toBe(true);
      }
      await expect(createVertexVersion(remote({ endpoint: 'endpoints/1' }).remote as never)).rejects.toMatchObject({
        code: 'INVALID_OPTIONS',
      });
    } finally {
      await version.close();
    }
  });
});
