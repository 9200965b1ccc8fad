/**
 * modelship for Node.js (the `node` condition of `modelship`): everything in the runtime-agnostic entry, plus
 * the Node runtime (`loadModel` on onnxruntime-node, `createDeployment`, the registries, the model cache and
 * the trackers).
 * @packageDocumentation
 */
export * from './index.js';
export * from './runtime/node.js';
export {
  createDvcRegistry,
  type DvcRegistry,
  type DvcRegistryOptions,
  type DvcPublishInput,
} from './registries/dvc/index.js';
export {
  createVertexRegistry,
  parseVertexRef,
  type VertexRegistry,
  type VertexRegistryOptions,
  type VertexPublishInput,
  type VertexRef,
} from './registries/vertex/index.js';
export {
  createAzureMlRegistry,
  parseAzureMlRef,
  type AzureMlRegistry,
  type AzureMlRegistryOptions,
  type AzureMlPublishInput,
  type AzureMlRef,
  type AzureTokenCredential,
} from './registries/azureml/index.js';
