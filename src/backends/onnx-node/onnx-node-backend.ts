import type { InferenceSession } from 'onnxruntime-node';
import type { BackendSession, BackendSessionOptions, InferenceBackend, ModelSource } from '../../spec/backend.js';
import { baseSessionOptions, createOrtSession, OrtBackendSession } from '../onnx-common/ort-session.js';
import { loadOnnxRuntime } from './load-runtime.js';
import { defaultIntraOpThreads, defaultWorkerCount, WorkerPoolSession } from './worker-pool.js';

export { cleanRuntimeMessage } from '../onnx-common/ort-session.js';

function sessionOptions(options: BackendSessionOptions): InferenceSession.SessionOptions {
  const out = baseSessionOptions(options);
  if (options.intraOpNumThreads !== undefined) out.intraOpNumThreads = options.intraOpNumThreads;
  if (options.interOpNumThreads !== undefined) out.interOpNumThreads = options.interOpNumThreads;
  if (options.executionProviders !== undefined) {
    out.executionProviders = [...options.executionProviders] as InferenceSession.ExecutionProviderConfig[];
  }
  return out;
}

/**
 * The onnxruntime-node backend. By default each model gets a pool of worker threads, one session each
 * (`workers`, default: available parallelism), because `run()` blocks the thread it is called on; with
 * `workers: 0` the session runs on the calling thread.
 *
 * @example
 * ```ts
 * const session = await createOnnxNodeBackend().createSession({ bytes }, { workers: 2, intraOpNumThreads: 1 });
 * ```
 */
export function createOnnxNodeBackend(): InferenceBackend {
  return {
    specificationVersion: 'v1',
    name: 'onnxruntime-node',
    async createSession(source: ModelSource, options: BackendSessionOptions = {}): Promise<BackendSession> {
      const ort = await loadOnnxRuntime(); // before starting threads, for a clear DEPENDENCY_MISSING
      const workers = options.workers ?? defaultWorkerCount();
      if (workers > 0) {
        const intraOpNumThreads = options.intraOpNumThreads ?? defaultIntraOpThreads(workers);
        return WorkerPoolSession.create(source, { ...options, intraOpNumThreads }, workers);
      }
      const model = 'bytes' in source ? source.bytes : source.path;
      const session = await createOrtSession(ort, model, sessionOptions(options), `onnxruntime-node ${ort.env.versions.node ?? ''}`.trim());
      return OrtBackendSession.create(ort, session);
    },
  };
}
