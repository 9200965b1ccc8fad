/** The MLflow Model Registry adapter (REST API 2.0, artifact proxy, S3/HTTP artifact stores). Node-only. */
export { createMlflowRegistry, type MlflowRegistry } from './mlflow-registry.js';
export {
  mlflowRegistryOptionsSchema,
  parseMlflowRegistryOptions,
  type MlflowRegistryOptions,
} from './mlflow-registry-options.js';
export { parseMlflowRef, type MlflowRef } from './model-uri.js';
export type { MlflowPublishInput } from './publish.js';
