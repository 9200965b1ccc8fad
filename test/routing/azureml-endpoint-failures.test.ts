/**
 * Azure ML managed online endpoint versions when things go wrong, against the online endpoint test server (TLS)
 * running the real MNIST model: throttling with Retry-After, 503s, the deployment's own timeout (408), a client
 * timeout, unknown deployments, answers that are not JSON, too large, ragged or echo the key, and bad options.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, silentLogger, type ServableModel } from 'modelship';
import { optionSchemas } from 'modelship/node';
import { createAzureMlVersion } from '../../src/backends/remote/azureml.js';
import { configSchema } from '../../src/cli/config/config-schema.js';
import { ModelshipError } from '../../src/errors/index.js';
import { deploymentRegistry, digits } from '../helpers/deployments.js';
import { startOnlineEndpoint, type OnlineEndpointServer } from '../servers/azure/online-endpoint.js';
import { mlflowScoring } from '../servers/azure/online-endpoint-scoring.js';

const { images } = digits(2);

describe('Azure ML managed online endpoint versions: failures', () => {
  let server: OnlineEndpointServer;
  let container: ServableModel;
  let release: () => void = () => undefined;

  beforeAll(async () => {
    server = await startOnlineEndpoint();
    container = await loadModel('mnist/1', { registry: await deploymentRegistry(), workers: 1, logger: silentLogger });
    const score = mlflowScoring(container);
    server.state.deployments.set('blue', { score });
    // A deployment that answers only when the test lets it (a timeout without sleeping).
    const held = new Promise<void>((resolve) => (release = resolve));
    server.state.deployments.set('stuck', { score: async (b) => (await held, score(b)) });
    server.state.traffic = { blue: 100 };
  });
  afterAll(async () => {
    release();
    await container?.close();
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
    // A modelship.yaml deployment takes it too; the key then comes from AZUREML_ENDPOINT_KEY.
    const file = configSchema.safeParse({
      deployments: {
        fraud: {
          stable: './fraud.onnx',
          canary: {
            ref: {
              remote: {
                protocol: 'azureml',
                scoringUri: 'https://f.westeurope.inference.ml.azure.com/score',
                deployment: 'green',
                signature: container.signature,
              },
            },
            weight: 0.1,
          },
        },
      },
    });
    expect(file.success, JSON.stringify(file.error?.issues)).toBe(true);
  });
});
