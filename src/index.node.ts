/**
 * modelship for Node.js: everything in the runtime-agnostic entry, plus `loadModel` on onnxruntime-node and
 * the local directory registry, the HTTP and MLflow registries, and the model cache.
 * @packageDocumentation
 */
export * from './index.js';
export { loadModel } from './load-model.node.js';
export { createDeployment } from './deployment.node.js';
export { createLocalRegistry, type LocalRegistry, type LocalRegistryOptions } from './registries/local/index.js';
export { createMlflowRegistry, type MlflowRegistry, type MlflowRegistryOptions, type MlflowPublishInput } from './registries/mlflow/index.js';
export { createWandbRegistry, type WandbRegistry, type WandbRegistryOptions, type WandbPublishInput } from './registries/wandb/index.js';
export { createSageMakerRegistry, type SageMakerRegistry, type SageMakerRegistryOptions, type SageMakerPublishInput } from './registries/sagemaker/index.js';
export { createHttpRegistry, writeHttpRegistryIndex, type HttpRegistry, type HttpRegistryOptions, type HttpIndex } from './registries/http/index.js';
export { createModelCache, type ModelCache, type ModelCacheOptions, type CachedBlob } from './platform/node/cache/model-cache.js';
export { defaultCacheDir } from './platform/node/cache/cache-dir.js';
export * from './tracking/index.js';
