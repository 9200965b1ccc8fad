import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentWith, loadModel, silentLogger, type ServableModel } from 'modelship';
import { toOipDatatype } from '../../src/core/oip-datatype.js';
import { ModelshipError } from '../../src/errors/index.js';
import { createSageMakerVersion } from '../../src/backends/remote/sagemaker.js';
import { deploymentRegistry, digits, loaderWith } from '../helpers/deployments.js';
import { createSageMakerState } from '../servers/sagemaker/handler.js';
import { startSageMakerServer, type SageMakerTestServer } from '../servers/sagemaker/server.js';

const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' };
const { images } = digits(10);

describe('SageMaker endpoints as deployment versions', () => {
  let server: SageMakerTestServer;
  let container: ServableModel;
  const seen: { variant?: string | undefined; contentType?: string }[] = [];

  beforeAll(async () => {
    server = await startSageMakerServer(createSageMakerState(credentials.accessKeyId));
    const registry = await deploymentRegistry();
    // The "container" behind the endpoint: a real model answering v2 JSON, as Triton on SageMaker does.
    container = await loadModel('mnist/1', { registry, workers: 1, logger: silentLogger });
    server.state.endpoints.set('mnist-endpoint', async (body, variant) => {
      seen.push({ variant });
      const inputs = (body as { inputs: { name: string; shape: number[]; data: number[] }[] }).inputs;
      const first = inputs[0]!;
      const rows = Array.from({ length: first.shape[0]! }, (_, i) =>
        first.data.slice(i * first.shape[1]!, (i + 1) * first.shape[1]!),
      );
      const out = await container.predict(rows);
      return {
        body: {
          model_name: 'mnist',
          outputs: Object.entries(out).map(([name, t]) => ({
            name,
            datatype: toOipDatatype(t.dtype),
            shape: t.shape,
            data: Array.from(t.data as ArrayLike<number | bigint>, Number),
          })),
        },
        ...(variant === undefined ? {} : { variant }),
      };
    });
    server.state.endpoints.set('broken-endpoint', () => ({ status: 500, body: { error: 'model crashed' } }));
  });
  afterAll(async () => {
    await container?.close();
    await server?.close();
  });

  const remote = (endpointName: string, extra: Record<string, unknown> = {}) => ({
    remote: {
      protocol: 'sagemaker' as const,
      endpointName,
      signature: container.signature as never,
      endpoint: server.url,
      region: 'us-east-1',
      credentials,
      retries: 1,
      ...extra,
    },
  });

  it('serves a deployment canary from InvokeEndpoint with v2 JSON bodies and TargetVariant', async () => {
    const registry = await deploymentRegistry();
    const d = await createDeploymentWith(loaderWith(registry), {
      name: 'mnist',
      stable: 'mnist/1',
      canary: { ref: remote('mnist-endpoint', { targetVariant: 'blue' }), weight: 1 },
      logger: silentLogger,
    });
    try {
      for (let i = 0; i < images.length; i++) {
        const answer = await d.predict([images[i]!], { routingKey: `k${i}` });
        expect(answer.version).toBe('mnist-endpoint/blue');
        // The same answer the model gives in-process.
        const local = await container.predict([images[i]!]);
        expect(Number((answer.outputs.label!.data as BigInt64Array)[0])).toBe(
          Number((local.label!.data as BigInt64Array)[0]),
        );
      }
      expect(seen.every((s) => s.variant === 'blue')).toBe(true);
      expect(server.state.requests.filter((r) => r.target === 'InvokeEndpoint').length).toBe(images.length);
    } finally {
      await d.close();
    }
  });

  it('retries a 503, maps container errors and unknown endpoints to UPSTREAM_ERROR', async () => {
    const version = await createSageMakerVersion(remote('mnist-endpoint').remote as never);
    const broken = await createSageMakerVersion(remote('broken-endpoint').remote as never);
    const missing = await createSageMakerVersion(remote('no-such-endpoint').remote as never);
    try {
      server.state.faults.push({ path: /invocations$/, status: 503, times: 1 });
      expect((await version.predict([images[0]!])).label).toBeDefined();
      for (const [m, why] of [
        [broken, /ModelError.*container status 500/],
        [missing, /ValidationError/],
      ] as const) {
        const error = await m.predict([images[0]!]).catch((e: unknown) => e);
        expect(ModelshipError.hasCode(error, 'UPSTREAM_ERROR'), String(error)).toBe(true);
        expect((error as Error).message).toMatch(why);
      }
      server.state.faults.push({ path: /invocations$/, status: 503, times: 5 });
      const down = await version.predict([images[0]!]).catch((e: unknown) => e);
      expect(ModelshipError.hasCode(down, 'UPSTREAM_UNAVAILABLE'), String(down)).toBe(true);
      server.state.faults.length = 0;
    } finally {
      await Promise.all([version.close(), broken.close(), missing.close()]);
    }
  });
});
