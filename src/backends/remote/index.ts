export { createRemoteVersion } from './kserve-v2.js';
export { createSageMakerVersion } from './sagemaker.js';
export { createVertexVersion } from './vertex.js';
export { createAzureMlVersion } from './azureml.js';
export { azureMlVersionSchema, type AzureMlVersion } from './azureml-options.js';
export { vertexVersionSchema, type VertexVersion } from './vertex-options.js';
export { loadRemoteVersion } from './load-remote.js';
export {
  describeRemote,
  remoteEndpointSchemas,
  remoteVersionSchema,
  sageMakerVersionSchema,
  type RemoteEndpoint,
  type RemoteVersion,
  type SageMakerVersion,
} from './remote-options.js';
export type { RemotePredictOptions, RemoteServable } from './remote-servable.js';
