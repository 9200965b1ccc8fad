import { loadRemoteVersion } from '../backends/remote/index.js';
import { startDeployment, type Deployment, type DeploymentOptions, type VersionLoader } from '../routing/index.js';

/**
 * Creates a deployment with your own version loader (the runtime-agnostic form; under Node.js use
 * `createDeployment`, which loads versions with `loadModel`). `{ remote: … }` versions load through the remote
 * backends (KServe v2 over fetch, SageMaker through the optional AWS SDK). Resolves once every version is
 * loaded and warm.
 *
 * @example
 * ```ts
 * const mnist = await createDeploymentWith((ref, opts) => loadModel(ref, opts), {
 *   name: 'mnist',
 *   stable: 'mnist/1',
 *   canary: { ref: { remote: { protocol: 'v2', url: 'http://kserve.local:8080', model: 'mnist' } }, weight: 0.1 },
 * });
 * ```
 */
export function createDeploymentWith(load: VersionLoader, options: DeploymentOptions): Promise<Deployment> {
  return startDeployment({ load, loadRemote: loadRemoteVersion }, options);
}
