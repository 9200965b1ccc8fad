/** The DVC model registry adapter (GTO tags in Git; models on a DVC remote or Git LFS). Node-only; needs the git binary. */
export { createDvcRegistry, type DvcRegistry } from './dvc-registry.js';
export { dvcRegistryOptionsSchema, parseDvcRegistryOptions, type DvcRegistryOptions } from './dvc-registry-options.js';
export { parseDvcRef, type DvcRef } from './ref.js';
export type { DvcPublishInput } from './publish.js';
