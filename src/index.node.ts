/**
 * modelship for Node.js (the `node` condition of `modelship`): everything in the runtime-agnostic entry, plus
 * the Node runtime (`loadModel` on onnxruntime-node, `createDeployment`, the registries, the model cache and
 * the trackers).
 * @packageDocumentation
 */
export * from './index.js';
export * from './runtime/node.js';
