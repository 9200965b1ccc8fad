import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-common';
import { ModelshipError } from '../../errors/index.js';
import type { BackendSession, BackendSessionOptions, RunOptions } from '../../spec/backend.js';
import type { TensorLike, TensorSpec } from '../../spec/tensor.js';
import { fromOrtTensor, toOrtTensor, toTensorSpec } from './convert.js';

/** The part of an onnxruntime module (onnxruntime-node or onnxruntime-web) the shared session code uses. */
export interface OrtModule {
  readonly Tensor: typeof OrtTensor;
  readonly InferenceSession: {
    create(model: Uint8Array | string, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
  };
}

/**
 * onnxruntime reports bad feeds with messages like "Got invalid dimensions for input: x". Those are the
 * caller's fault (400), everything else is the model's or the runtime's (500).
 */
const INPUT_ERROR =
  /invalid dimensions|invalid rank|unexpected input data type|input .* not (found|provided)|missing input/i;

/** Removes source paths and runtime prefixes so a runtime message is safe to show to an HTTP client. */
export function cleanRuntimeMessage(message: string): string {
  return message
    .replace(/\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*[A-Z_]+\s*:\s*/g, '')
    .replace(/(?:[A-Za-z]:)?(?:\/[^\s:/]+)+\.(?:cc|cpp|h|c)(?::\d+)?/g, '<runtime source>')
    .replace(/\s+/g, ' ')
    .trim();
}

const messageOf = (cause: unknown): string =>
  cleanRuntimeMessage(cause instanceof Error ? cause.message : String(cause));

/** Session options both runtimes understand; each backend adds its own (execution providers, threads). */
export function baseSessionOptions(options: BackendSessionOptions): InferenceSession.SessionOptions {
  const out: InferenceSession.SessionOptions = { logSeverityLevel: options.logSeverityLevel ?? 4 };
  if (options.graphOptimizationLevel !== undefined) out.graphOptimizationLevel = options.graphOptimizationLevel;
  return out;
}

/**
 * Creates an onnxruntime session from bytes or a path, turning a load failure into MODEL_LOAD_FAILED with a
 * message that says what to check.
 */
export async function createOrtSession(
  ort: OrtModule,
  model: Uint8Array | string,
  options: InferenceSession.SessionOptions,
  runtimeLabel: string,
): Promise<InferenceSession> {
  try {
    return await ort.InferenceSession.create(model, options);
  } catch (cause) {
    throw new ModelshipError(
      'MODEL_LOAD_FAILED',
      `onnxruntime could not load the model: ${messageOf(cause)}. Check that the file is a complete ONNX model (not a Git LFS pointer, an HTML error page or a truncated download) and that its opset is supported by ${runtimeLabel}.`,
      { cause },
    );
  }
}

/** A BackendSession over one onnxruntime `InferenceSession` (the same code for onnxruntime-node and -web). */
export class OrtBackendSession implements BackendSession {
  readonly signature;
  readonly #session: InferenceSession;
  readonly #Tensor: typeof OrtTensor;
  readonly #outputNames: readonly string[];

  constructor(ort: OrtModule, session: InferenceSession) {
    this.#Tensor = ort.Tensor;
    this.#session = session;
    const inputs = session.inputMetadata.map((m) => toTensorSpec(m, 'input') as TensorSpec);
    const outputs = session.outputMetadata
      .map((m) => toTensorSpec(m, 'output'))
      .filter((s): s is TensorSpec => s !== undefined);
    this.signature = { inputs, outputs };
    this.#outputNames = outputs.map((o) => o.name);
  }

  /** Wraps a freshly created session; releases it when its metadata cannot be served. */
  static async create(ort: OrtModule, session: InferenceSession): Promise<OrtBackendSession> {
    try {
      return new OrtBackendSession(ort, session);
    } catch (error) {
      await session.release().catch(() => undefined);
      throw error;
    }
  }

  async run(
    feeds: Readonly<Record<string, TensorLike>>,
    options: RunOptions = {},
  ): Promise<Record<string, TensorLike>> {
    options.signal?.throwIfAborted();
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(this.#Tensor, t);
    const fetches = options.outputs ?? this.#outputNames;
    let results: InferenceSession.ReturnType;
    try {
      results = await this.#session.run(ortFeeds, fetches as string[]);
    } catch (cause) {
      const message = messageOf(cause);
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
