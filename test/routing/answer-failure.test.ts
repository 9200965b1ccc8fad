/**
 * A version that answered but whose answer the HTTP layer could not send is a failed request: the deployment's
 * stats and guardrails see it as an error, not as a success.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDeploymentWith,
  createHandler,
  silentLogger,
  type Deployment,
  type LocalRegistry,
  type ServableModel,
} from 'modelship';
import { serve, type ModelshipServer } from 'modelship/node';
import { postJson } from '../helpers/http.js';
import { deploymentRegistry, digits, loaderWith, wrap } from '../helpers/deployments.js';

const { images } = digits(4);

/**
 * Answers with its int64 `label` as a plain `{ dtype, shape, data }` (what a custom backend returns) instead of
 * a Tensor: JSON cannot encode its BigInt64Array and the OIP encoder finds no `toFlatArray`.
 */
function unencodable(model: ServableModel): ServableModel {
  return wrap(model, async (input, options) => {
    const out = await model.predict(input, options);
    const label = out.label!;
    return { ...out, label: { dtype: label.dtype, shape: label.shape, data: label.data } as never };
  });
}

describe('a failure to answer counts as an error', () => {
  let registry: LocalRegistry;
  let deployment: Deployment;
  let server: ModelshipServer;

  beforeAll(async () => {
    registry = await deploymentRegistry();
    deployment = await createDeploymentWith(loaderWith(registry, { 'mnist/2': unencodable }), {
      name: 'mnist',
      stable: 'mnist/1',
      canary: { ref: 'mnist/2', weight: 1 },
      guardrails: { maxErrorRate: 0.5, minRequests: 4, interval: '1h' },
      logger: silentLogger,
    });
    server = await serve(createHandler({ models: [deployment], logger: silentLogger }), { port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('counts answers that could not be encoded (simple JSON and OIP v2) against the version, and guardrails roll it back', async () => {
    const rollbacks: unknown[] = [];
    deployment.on('rollback', (e) => rollbacks.push(e));
    for (const image of images.slice(0, 2)) {
      const res = await postJson(`${server.url}/models/mnist/predict`, { inputs: [image] });
      expect(res.status).toBe(500);
      const v2 = await postJson(`${server.url}/v2/models/mnist/infer`, {
        inputs: [{ name: 'pixels', shape: [1, 784], datatype: 'FP32', data: image }],
      });
      expect(v2.status).toBe(500);
    }
    const stats = deployment.status().canary!.stats;
    expect({ requests: stats.requests, errors: stats.errors }).toEqual({ requests: 4, errors: 4 });
    expect(deployment.status().stable.stats.errors).toBe(0);
    deployment.evaluate();
    expect(rollbacks).toMatchObject([{ kind: 'canary', from: '2', reason: 'guardrail' }]);
    expect(deployment.status().canary!.weight).toBe(0);
    // Traffic is back on stable, which answers.
    expect((await postJson(`${server.url}/models/mnist/predict`, { inputs: [images[0]] })).status).toBe(200);
  });
});
