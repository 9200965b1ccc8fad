import { resolve } from 'node:path';
import { createOnnxNodeBackend } from '../backends/onnx-node/index.js';
import { inspectModelFile, readModelFile } from '../platform/node/read-model-file.js';
import { createLocalRegistry } from '../registries/local/index.js';
import { fetchModelUrl } from '../registries/url/index.js';
import type { InferenceBackend } from '../spec/backend.js';
import type { RegistryAdapter } from '../spec/registry.js';
import type { ServingRuntime } from './load-model.js';

/** Where `loadModel` looks for named models when no registry is given: `$MODELSHIP_MODELS_DIR`, else `./models`. */
export function defaultModelsDir(): string {
  return resolve(process.env.MODELSHIP_MODELS_DIR ?? 'models');
}

let backend: InferenceBackend | undefined;
let registry: { root: string; adapter: RegistryAdapter } | undefined;

/**
 * The Node.js serving runtime: onnxruntime-node, local files, and the local registry as the default. Model files
 * on disk (a path, a cached download) are handed to the backend by path, so each worker opens the file itself.
 */
export const nodeRuntime: ServingRuntime = {
  platform: 'onnxruntime_onnx',
  backend: async () => (backend ??= createOnnxNodeBackend()),
  readFile: readModelFile,
  inspectFile: inspectModelFile,
  defaultRegistry() {
    const root = defaultModelsDir();
    if (registry?.root !== root) registry = { root, adapter: createLocalRegistry({ root }) };
    return registry.adapter;
  },
  fetchUrl: (url, options) => fetchModelUrl(url, options),
};
