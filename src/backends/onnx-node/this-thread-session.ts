import type { InferenceSession } from 'onnxruntime-node';
import { ModelshipError } from '../../errors/index.js';
import type { BackendSession, BackendSessionOptions, ModelSource } from '../../spec/backend.js';
import { baseSessionOptions, createOrtSession, OrtBackendSession } from '../onnx-common/ort-session.js';
import type { loadOnnxRuntime } from './load-runtime.js';

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
