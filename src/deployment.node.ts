import { loadModel } from './load-model.node.js';
import { createDeploymentWith } from './deployment.js';
import type { Deployment, DeploymentOptions } from './routing/index.js';
import type { LoadModelOptions } from './serving/load-model-options.js';

/**
 * Serves several versions of a model under one name: a stable version, a weighted sticky canary, a shadow
 * receiving mirrored traffic, blue-green switches (`switchTo`), rollbacks, guardrails that roll back by
 * themselves, and (with `watch: true`) following an alias in the registry. Versions load with `loadModel`.
 * Pass it to `createHandler` like a model.
 *
 * @example
 * ```ts
 * const mnist = await createDeployment({
 *   name: 'mnist', registry,
 *   stable: 'mnist@production',
 *   canary: { ref: 'mnist@candidate', weight: 0.1 },
 *   guardrails: { window: '60s', minRequests: 200, maxErrorRate: 0.02, action: 'rollback' },
 *   tracking: { tracker: createTracker() },   // production evidence: one run per version, changes as tags
 *   watch: true,
 * });
 * const { outputs, version } = await mnist.predict(pixels, { routingKey: userId });
 * mnist.on('rollback', (e) => console.log('rolled back', e));
 * ```
 */
export function createDeployment(options: DeploymentOptions): Promise<Deployment> {
  return createDeploymentWith((ref, opts) => loadModel(ref, opts as LoadModelOptions), options);
}
