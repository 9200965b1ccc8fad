/**
 * The Node.js composition root: `loadModel` and `createDeployment` bound to the Node serving runtime
 * (`serving/node-runtime.ts`: onnxruntime-node, local files, the local registry by default), and the Node-only
 * parts they are used with (registries, the model cache, trackers). `modelship` under Node and
 * `modelship/node` both re-export this list, so it is written once.
 */
import type { Deployment, DeploymentOptions } from '../routing/index.js';
import { createDeploymentWith } from './deployment.js';
import { loadModelWith, type ModelRef } from '../serving/load-model.js';
import type { LoadModelOptions } from '../serving/load-model-options.js';
import type { Model } from '../serving/model.js';
import { nodeRuntime } from '../serving/node-runtime.js';
import { registryForRef } from './scheme-registry.js';

export { registryForRef } from './scheme-registry.js';

export { createLocalRegistry, type LocalRegistry, type LocalRegistryOptions } from '../registries/local/index.js';
export {
  createMlflowRegistry,
  type MlflowRegistry,
  type MlflowRegistryOptions,
  type MlflowPublishInput,
} from '../registries/mlflow/index.js';
export {
  createWandbRegistry,
  type WandbRegistry,
  type WandbRegistryOptions,
  type WandbPublishInput,
} from '../registries/wandb/index.js';
export {
  createSageMakerRegistry,
  type SageMakerRegistry,
  type SageMakerRegistryOptions,
  type SageMakerPublishInput,
} from '../registries/sagemaker/index.js';
export {
  createDvcRegistry,
  type DvcRegistry,
  type DvcRegistryOptions,
  type DvcPublishInput,
} from '../registries/dvc/index.js';
export {
  createVertexRegistry,
  parseVertexRef,
  type VertexRegistry,
  type VertexRegistryOptions,
  type VertexPublishInput,
  type VertexRef,
} from '../registries/vertex/index.js';
export {
  createAzureMlRegistry,
  parseAzureMlRef,
  type AzureMlRegistry,
  type AzureMlRegistryOptions,
  type AzureMlPublishInput,
  type AzureMlRef,
  type AzureTokenCredential,
} from '../registries/azureml/index.js';
export {
  createHttpRegistry,
  writeHttpRegistryIndex,
  type HttpRegistry,
  type HttpRegistryOptions,
  type HttpIndex,
} from '../registries/http/index.js';
export {
  createModelCache,
  type ModelCache,
  type ModelCacheOptions,
  type CachedBlob,
} from '../platform/node/cache/model-cache.js';
export { defaultCacheDir } from '../platform/node/cache/cache-dir.js';
export * from '../tracking/index.js';

/**
 * Loads a model for serving: resolves the reference, verifies the file's sha256 against what the registry
 * recorded, creates an onnxruntime-node session, reads the signature from the model, and starts warm-up.
 *
 * References: `"mnist@production"` (alias), `"mnist/3"` (version), `"mnist"` (latest) — resolved in
 * `options.registry`, else the local registry in `$MODELSHIP_MODELS_DIR` or `./models` — scheme references
 * (`models:/…`, `wandb:…`, `sagemaker:…`) in the registry they name, built from the environment when no
 * `registry` is given ({@link registryForRef}) — or a file path
 * (`"./model.onnx"`), a `file:` URL, or the model's bytes.
 *
 * @example
 * ```ts
 * const registry = createLocalRegistry({ root: './models' });
 * const model = await loadModel('mnist@production', { registry });
 * await model.ready();
 * const { probabilities } = await model.predict([pixels]);
 * await model.close();
 * ```
 */
export function loadModel(ref: ModelRef, options?: LoadModelOptions): Promise<Model> {
  if (options?.registry !== undefined) return loadModelWith(nodeRuntime, ref, options);
  try {
    const registry = registryForRef(ref);
    return loadModelWith(nodeRuntime, ref, registry === undefined ? options : { ...options, registry });
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Serves several versions of a model under one name: a stable version, a weighted sticky canary, a shadow
 * receiving mirrored traffic, blue-green switches (`switchTo`), rollbacks, guardrails that roll back by
 * themselves, and (with `watch: true`) following an alias in the registry. Versions load with `loadModel`.
 * Pass it to `createHandler` like a model.
 *
 * @example
 * ```ts
 * const mnist = await createDeployment({
 *   name: 'mnist', registry,
 *   stable: 'mnist@production',
 *   canary: { ref: 'mnist@candidate', weight: 0.1 },
 *   guardrails: { window: '60s', minRequests: 200, maxErrorRate: 0.02, action: 'rollback' },
 *   tracking: { tracker: createTracker() },   // production evidence: one run per version, changes as tags
 *   watch: true,
 * });
 * const { outputs, version } = await mnist.predict(pixels, { routingKey: userId });
 * mnist.on('rollback', (e) => console.log('rolled back', e));
 * ```
 */
export function createDeployment(options: DeploymentOptions): Promise<Deployment> {
  let registry;
  try {
    registry = options?.registry === undefined ? registryForRef(options?.stable) : undefined;
  } catch (error) {
    return Promise.reject(error);
  }
  return createDeploymentWith(
    (ref, opts) => loadModel(ref, opts as LoadModelOptions),
    registry === undefined ? options : { ...options, registry },
  );
}
