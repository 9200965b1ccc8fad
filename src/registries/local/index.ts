/**
 * The local directory registry: models as plain files under `<root>/<name>/<version>/`, the embedded default.
 * Node-only.
 */
export {
  createLocalRegistry,
  LOCAL_ALIASES_FILE,
  LOCAL_META_FILE,
  LOCAL_MODEL_FILE,
  type LocalModelMeta,
  type LocalModelVersionInfo,
  type LocalRegistry,
  type LocalWatchOptions,
} from './local-registry.js';
export {
  LOCAL_REGISTRY_DEFAULTS,
  localRegistryOptionsSchema,
  parseLocalRegistryOptions,
  type LocalRegistryOptions,
} from './local-registry-options.js';
