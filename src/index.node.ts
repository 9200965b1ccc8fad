/**
 * modelship for Node.js: everything in the runtime-agnostic entry, plus `loadModel` on onnxruntime-node and
 * the local directory registry.
 * @packageDocumentation
 */
export * from './index.js';
export { loadModel } from './load-model.node.js';
export { createLocalRegistry, type LocalRegistry, type LocalRegistryOptions } from './registries/local/index.js';
export {
  createTracker,
  createLocalTracker,
  createMlflowTracker,
  createWandbTracker,
  collectLineage,
  type CreateTrackerOptions,
  type LocalTracker,
  type LocalTrackerOptions,
  type MlflowTracker,
  type MlflowTrackerOptions,
  type WandbTracker,
  type WandbTrackerOptions,
  type SpooledTracker,
  type TrackerStats,
  type CollectLineageOptions,
} from './tracking/index.js';
