import type * as Ort from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-node';
import { ModelshipError } from '../../errors/index.js';
import type {
  BackendSession,
  BackendSessionOptions,
  InferenceBackend,
  ModelSource,
  RunOptions,
} from '../../spec/backend.js';
import type { TensorLike, TensorSpec } from '../../spec/tensor.js';
import { fromOrtTensor, toOrtTensor, toTensorSpec } from './convert.js';
import { loadOnnxRuntime } from './load-runtime.js';
import { defaultIntraOpThreads, defaultWorkerCount, WorkerPoolSession } from './worker-pool.js';

/**
 * onnxruntime reports bad feeds with messages like "Got invalid dimensions for input: x". Those are the
 * caller's fault (400), everything else is the model's or the runtime's (500).
 */
const INPUT_ERROR = /invalid dimensions|invalid rank|unexpected input data type|input .* not (found|provided)|missing input/i;

/** Removes source paths and runtime prefixes so a runtime message is safe to show to an HTTP client. */
export function cleanRuntimeMessage(message: string): string {
  return message
    .replace(/\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*[A-Z_]+\s*:\s*/g, '')
    .replace(/(?:[A-Za-z]:)?(?:\/[^\s:/]+)+\.(?:cc|cpp|h|c)(?::\d+)?/g, '<runtime source>')
    .replace(/\s+/g, ' ')
    .trim();
}

function sessionOptions(options: BackendSessionOptions): InferenceSession.SessionOptions {
  const out: InferenceSession.SessionOptions = { logSeverityLevel: options.logSeverityLevel ?? 4 };
  if (options.intraOpNumThreads !== undefined) out.intraOpNumThreads = options.intraOpNumThreads;
  if (options.interOpNumThreads !== undefined) out.interOpNumThreads = options.interOpNumThreads;
  if (options.graphOptimizationLevel !== undefined) out.graphOptimizationLevel = options.graphOptimizationLevel;
  if (options.executionProviders !== undefined) {
    out.executionProviders = [...options.executionProviders] as InferenceSession.ExecutionProviderConfig[];
  }
  return out;
}

class OnnxNodeSession implements BackendSession {
  readonly signature;
  readonly #session: InferenceSession;
  readonly #ort: typeof Ort;
  readonly #outputNames: readonly string[];

  constructor(ort: typeof Ort, session: InferenceSession) {
    this.#ort = ort;
    this.#session = session;
    const inputs = session.inputMetadata.map((m) => toTensorSpec(m, 'input') as TensorSpec);
    const outputs = session.outputMetadata
      .map((m) => toTensorSpec(m, 'output'))
      .filter((s): s is TensorSpec => s !== undefined);
    this.signature = { inputs, outputs };
    this.#outputNames = outputs.map((o) => o.name);
  }

  async run(feeds: Readonly<Record<string, TensorLike>>, options: RunOptions = {}): Promise<Record<string, TensorLike>> {
    options.signal?.throwIfAborted();
    const ortFeeds: Record<string, Ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(this.#ort.Tensor, t);
    const fetches = options.outputs ?? this.#outputNames;
    let results: InferenceSession.ReturnType;
    try {
      results = await this.#session.run(ortFeeds, [...fetches]);
    } catch (cause) {
      const message = cleanRuntimeMessage(cause instanceof Error ? cause.message : String(cause));
      if (INPUT_ERROR.test(message)) throw new ModelshipError('INVALID_INPUT', message, { cause });
      throw new ModelshipError('INFERENCE_FAILED', `Inference failed: ${message}`, { cause });
    }
    const out: Record<string, TensorLike> = {};
    for (const name of fetches) out[name] = fromOrtTensor(name, results[name]);
    return out;
  }

  async release(): Promise<void> {
    await this.#session.release();
  }
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
      const workers = options.workers ?? defaultWorkerCount();
      if (workers > 0) {
        // Make sure the runtime is installed before starting threads, for a clear DEPENDENCY_MISSING.
        await loadOnnxRuntime();
        const intraOpNumThreads = options.intraOpNumThreads ?? defaultIntraOpThreads(workers);
        return WorkerPoolSession.create(source, { ...options, intraOpNumThreads }, workers);
      }
      return createInProcessSession(source, options);
    },
  };
}

async function createInProcessSession(source: ModelSource, options: BackendSessionOptions): Promise<BackendSession> {
  const ort = await loadOnnxRuntime();
  let session: InferenceSession;
  try {
    session =
      'bytes' in source
        ? await ort.InferenceSession.create(source.bytes, sessionOptions(options))
        : await ort.InferenceSession.create(source.path, sessionOptions(options));
  } catch (cause) {
    const message = cleanRuntimeMessage(cause instanceof Error ? cause.message : String(cause));
    throw new ModelshipError(
      'MODEL_LOAD_FAILED',
      `onnxruntime could not load the model: ${message}. Check that the file is a complete ONNX model (not a Git LFS pointer or a truncated download) and that its opset is supported by onnxruntime ${ort.env.versions.node ?? ''}.`.replace(' )', ')'),
      { cause },
    );
  }
  try {
    return new OnnxNodeSession(ort, session);
  } catch (error) {
    await session.release().catch(() => undefined);
    throw error;
  }
}
