/**
 * modelship for Node.js: everything in the runtime-agnostic entry, plus `loadModel` on onnxruntime-node and
 * the local directory registry.
 * @packageDocumentation
 */
export * from './index.js';
export { loadModel } from './load-model.node.js';
export { createLocalRegistry, type LocalRegistry, type LocalRegistryOptions } from './registries/local/index.js';
export * from './tracking/index.js';
