import type { BackendSession, BackendSessionOptions, InferenceBackend, ModelSource } from '../../spec/backend.js';
import { sessionOnThisThread } from './this-thread-session.js';
import { loadOnnxRuntime } from './load-runtime.js';
import { fallbackWarning, usableProviders } from './execution-providers.js';
import { WorkerPoolSession } from './worker-pool.js';
import { defaultIntraOpThreads, defaultWorkerCount } from './worker-start.js';

export { cleanRuntimeMessage } from '../onnx-common/ort-session.js';

/**
 * The onnxruntime-node backend. By default each model gets a pool of worker threads, one session each
 * (`workers`, default: available parallelism), because `run()` blocks the thread it is called on; with
 * `workers: 0` the session runs on the calling thread. Given a `path`, every worker opens the file itself;
 * given bytes, the workers share one copy.
 *
 * @example
 * ```ts
 * const session = await createOnnxNodeBackend().createSession({ path: './model.onnx' }, { workers: 2, intraOpNumThreads: 1 });
 * ```
 */
export function createOnnxNodeBackend(): InferenceBackend {
  return {
    specificationVersion: 'v1',
    name: 'onnxruntime-node',
    async createSession(source: ModelSource, options: BackendSessionOptions = {}): Promise<BackendSession> {
      const ort = await loadOnnxRuntime(); // before starting threads, for a clear DEPENDENCY_MISSING
      if (options.executionProviders?.some((p) => p !== 'cpu')) {
        // Once, here, rather than failing in every worker (docs/gpu.md).
        const choice = await usableProviders(ort, options.executionProviders);
        if (choice.dropped.length > 0) {
          process.emitWarning(fallbackWarning(choice), {
            type: 'ModelshipWarning',
            code: 'MODELSHIP_PROVIDER_FALLBACK',
          });
          options = { ...options, executionProviders: choice.providers };
        }
      }
      const workers = options.workers ?? defaultWorkerCount(options.intraOpNumThreads);
      if (workers > 0) {
        const intraOpNumThreads = options.intraOpNumThreads ?? defaultIntraOpThreads(workers);
        return WorkerPoolSession.create(source, { ...options, intraOpNumThreads }, workers);
      }
      return sessionOnThisThread(ort, source, options);
    },
  };
}
