/** The Weights & Biases artifacts adapter (public GraphQL API, signed file URLs). Node-only. */
export { createWandbRegistry, type WandbRegistry } from './wandb-registry.js';
export {
  wandbRegistryOptionsSchema,
  parseWandbRegistryOptions,
  type WandbRegistryOptions,
} from './wandb-registry-options.js';
export { parseWandbRef, type WandbRef } from './ref.js';
export type { WandbPublishInput } from './publish.js';
