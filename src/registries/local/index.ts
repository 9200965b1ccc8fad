/**
 * The local directory registry: models as plain files under `<root>/<name>/<version>/`, the embedded default.
 * Node-only.
 */
export {
  LOCAL_ALIASES_FILE,
  LOCAL_META_FILE,
  LOCAL_MODEL_FILE,
  type LocalModelMeta,
  type LocalModelVersionInfo,
} from './layout.js';
export { createLocalRegistry, type LocalRegistry } from './local-registry.js';
export {
  LOCAL_REGISTRY_DEFAULTS,
  localRegistryOptionsSchema,
  parseLocalRegistryOptions,
  type LocalRegistryOptions,
} from './local-registry-options.js';
export { type LocalWatchOptions } from './watch.js';
