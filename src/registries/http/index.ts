/** The HTTP registry: a static host or bucket with `<name>/index.json` per model. Node-only. */
export { createHttpRegistry, type HttpRegistry } from './http-registry.js';
export {
  httpRegistryOptionsSchema,
  parseHttpRegistryOptions,
  type HttpRegistryOptions,
} from './http-registry-options.js';
export { HTTP_INDEX_FILE, httpIndexSchema, type HttpIndex, type HttpIndexVersion } from './index-file.js';
export { writeHttpRegistryIndex } from './write-index.js';
