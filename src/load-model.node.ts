import { loadModelWith, type ModelRef } from './serving/load-model.js';
import type { LoadModelOptions } from './serving/load-model-options.js';
import type { Model } from './serving/model.js';
import { nodeRuntime } from './serving/node-runtime.js';

/**
 * Loads a model for serving: resolves the reference, verifies the file's sha256 against what the registry
 * recorded, creates an onnxruntime-node session, reads the signature from the model, and starts warm-up.
 *
 * References: `"mnist@production"` (alias), `"mnist/3"` (version), `"mnist"` (latest) — resolved in
 * `options.registry`, else the local registry in `$MODELSHIP_MODELS_DIR` or `./models` — or a file path
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
  return loadModelWith(nodeRuntime, ref, options);
}
