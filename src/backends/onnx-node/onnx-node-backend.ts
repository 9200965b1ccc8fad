import type { InferenceSession } from 'onnxruntime-node';
import { ModelshipError } from '../../errors/index.js';
import type { BackendSession, BackendSessionOptions, InferenceBackend, ModelSource } from '../../spec/backend.js';
import { baseSessionOptions, createOrtSession, OrtBackendSession } from '../onnx-common/ort-session.js';
import { loadOnnxRuntime } from './load-runtime.js';
import { fallbackWarning, usableProviders } from './execution-providers.js';
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
 * onnxruntime names the file it failed to load ("Load model from <path> failed: …"); a cached model's path would
 * show the cache's layout to an HTTP client, so the message says "the model file" instead (the cause keeps it).
 */
function withoutPath(error: unknown, path: string): unknown {
  if (!ModelshipError.isInstance(error) || !error.message.includes(path)) return error;
  return new ModelshipError(error.code, error.message.replaceAll(path, 'the model file'), {
    cause: error.cause,
    ...(error.details === undefined ? {} : { details: error.details }),
  });
}

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

/**
 * One onnxruntime session on the calling thread, with the options as given (a pool's worker uses it: the
 * pool has already checked the execution providers).
 */
export async function sessionOnThisThread(
  ort: Awaited<ReturnType<typeof loadOnnxRuntime>>,
  source: ModelSource,
  options: BackendSessionOptions,
): Promise<BackendSession> {
  const label = `onnxruntime-node ${ort.env.versions.node ?? ''}`.trim();
  if ('bytes' in source)
    return OrtBackendSession.create(ort, await createOrtSession(ort, source.bytes, sessionOptions(options), label));
  const session = await createOrtSession(ort, source.path, sessionOptions(options), label).catch((error: unknown) => {
    throw withoutPath(error, source.path);
  });
  return OrtBackendSession.create(ort, session);
}
