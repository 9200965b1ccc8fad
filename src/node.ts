/**
 * `modelship/node`: the node:http bridge and Node-only building blocks.
 * @packageDocumentation
 */
export { serve, type ServeOptions, type ModelshipServer } from './http/node/serve.js';
export { toWebRequest, sendWebResponse, type ToWebRequestOptions } from './http/node/bridge.js';
export { loadModel } from './load-model.node.js';
export { createDeployment } from './deployment.node.js';
export { createLocalRegistry, type LocalRegistry, type LocalRegistryOptions } from './registries/local/index.js';
export { createMlflowRegistry, type MlflowRegistry, type MlflowRegistryOptions, type MlflowPublishInput } from './registries/mlflow/index.js';
export { createWandbRegistry, type WandbRegistry, type WandbRegistryOptions, type WandbPublishInput } from './registries/wandb/index.js';
export { createSageMakerRegistry, type SageMakerRegistry, type SageMakerRegistryOptions, type SageMakerPublishInput } from './registries/sagemaker/index.js';
export { createHttpRegistry, writeHttpRegistryIndex, type HttpRegistry, type HttpRegistryOptions, type HttpIndex } from './registries/http/index.js';
export { createModelCache, type ModelCache, type ModelCacheOptions, type CachedBlob } from './platform/node/cache/model-cache.js';
export { defaultCacheDir } from './platform/node/cache/cache-dir.js';
export { createOnnxNodeBackend } from './backends/onnx-node/index.js';
export { defaultModelsDir } from './serving/node-runtime.js';
export * from './tracking/index.js';
