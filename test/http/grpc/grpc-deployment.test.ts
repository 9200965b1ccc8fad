import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentWith, createHandler, silentLogger, type Deployment } from 'modelship';
import { serve, type ModelshipServer } from 'modelship/node';
import { digitImage, IMAGE_SIZE } from '../../../examples/shared/mnist-data.js';
import { deploymentRegistry, loaderWith } from '../../helpers/deployments.js';
import { postJson } from '../../helpers/http.js';
import { tinyMnist } from '../../helpers/models.js';
import { grpc, grpcClient, type TestClient } from './grpc-client.js';

const TOKEN = 'grpc-deployment-token-0123456789';

describe('deployments over gRPC: the same routing, versions and admin changes as HTTP', () => {
  let deployment: Deployment;
  let server: ModelshipServer;
  let client: TestClient;
  const pixels = Array.from(digitImage(tinyMnist().test, 0));

  beforeAll(async () => {
    const registry = await deploymentRegistry();
    deployment = await createDeploymentWith(loaderWith(registry), {
      name: 'mnist',
      registry,
      stable: 'mnist@production',
      canary: { ref: 'mnist@candidate', weight: 0.5 },
      logger: silentLogger,
    });
    const handler = createHandler({ models: [deployment], logger: silentLogger, admin: { token: TOKEN } });
    server = await serve(handler, { port: 0, host: '127.0.0.1', grpc: { port: 0, host: '127.0.0.1' } });
    client = grpcClient(`127.0.0.1:${server.grpc?.port}`);
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
  });

  const infer = (routeKey: string) => {
    const metadata = new grpc.Metadata();
    metadata.set('x-modelship-route-key', routeKey);
    return client.call(
      'ModelInfer',
      {
        model_name: 'mnist',
        inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, IMAGE_SIZE], contents: { fp32_contents: pixels } }],
        outputs: [{ name: 'label' }],
      },
      { metadata },
    );
  };

  it('routes by x-modelship-route-key like the HTTP header, answering with the version that answered', async () => {
    const versions = new Map<string, string>();
    for (let i = 0; i < 24; i++) {
      const key = `user-${i}`;
      const answer = await infer(key);
      versions.set(key, answer.model_version);
      // Sticky: the same key lands on the same version, as over HTTP.
      const http = await postJson(
        `${server.url}/models/mnist/predict`,
        { inputs: [pixels] },
        {
          'x-modelship-route-key': key,
        },
      );
      expect(http.body.version).toBe(answer.model_version);
    }
    expect(new Set(versions.values())).toEqual(new Set(['1', '2']));
  });

  it('follows an admin promote made over HTTP', async () => {
    const promoted = await postJson(
      `${server.url}/admin/deployments/mnist`,
      { action: 'promote' },
      { authorization: `Bearer ${TOKEN}` },
    );
    expect(promoted.status).toBe(200);
    for (let i = 0; i < 8; i++) expect((await infer(`after-${i}`)).model_version).toBe('2');
  });
});
