/**
 * `modelship/node`: the node:http bridge and Node-only building blocks.
 * @packageDocumentation
 */
export { serve, type ServeOptions, type ModelshipServer } from './http/node/serve.js';
export { toWebRequest, sendWebResponse, type ToWebRequestOptions } from './http/node/bridge.js';
export { loadModel } from './load-model.node.js';
export { createLocalRegistry, type LocalRegistry, type LocalRegistryOptions } from './registries/local/index.js';
export { createOnnxNodeBackend } from './backends/onnx-node/index.js';
export { defaultModelsDir } from './serving/node-runtime.js';
export * from './tracking/index.js';
