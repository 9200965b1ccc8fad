import { loadModel } from './load-model.browser.js';
import { createDeploymentWith } from './deployment.js';
import type { Deployment, DeploymentOptions } from './routing/index.js';
import type { BrowserLoadModelOptions } from './serving/browser-load-options.js';

/**
 * `createDeployment` in browsers: the same canary, shadow, blue-green and guardrails as on Node, with versions
 * loaded by the browser `loadModel` (onnxruntime-web, Cache API).
 *
 * @example
 * ```ts
 * const mnist = await createDeployment({ name: 'mnist', stable: '/models/mnist-v1.onnx', shadow: { ref: '/models/mnist-v2.onnx' } });
 * const { outputs, version } = await mnist.predict([pixels]);
 * ```
 */
export function createDeployment(options: DeploymentOptions): Promise<Deployment> {
  return createDeploymentWith((ref, opts) => loadModel(ref, opts as BrowserLoadModelOptions), options);
}
