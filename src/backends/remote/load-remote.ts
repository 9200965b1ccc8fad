import { createAzureMlVersion } from './azureml.js';
import type { AzureMlVersion } from './azureml-options.js';
import { createRemoteVersion } from './kserve-v2.js';
import type { RemoteEndpoint, RemoteVersion, SageMakerVersion } from './remote-options.js';
import type { RemoteServable } from './remote-servable.js';
import { createSageMakerVersion } from './sagemaker.js';
import { createVertexVersion } from './vertex.js';
import type { VertexVersion } from './vertex-options.js';

/**
 * Loads a remote endpoint as a model, by its protocol: `v2` (KServe v2 / Open Inference Protocol over fetch) or
 * `sagemaker` (a SageMaker real-time endpoint through the optional AWS SDK peer). This is the hook runtimes give
 * deployments for `{ remote: { … } }` versions; a new remote protocol is one more backend file and one line here.
 *
 * @example
 * ```ts
 * const model = await loadRemoteVersion({ protocol: 'v2', url: 'http://kserve.local:8080', model: 'mnist' });
 * ```
 */
export function loadRemoteVersion(remote: RemoteEndpoint): Promise<RemoteServable> {
  if (remote.protocol === 'vertex') return createVertexVersion(remote as VertexVersion);
  if (remote.protocol === 'azureml') return createAzureMlVersion(remote as AzureMlVersion);
  return remote.protocol === 'sagemaker'
    ? createSageMakerVersion(remote as SageMakerVersion)
    : createRemoteVersion(remote as RemoteVersion);
}
