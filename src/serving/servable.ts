import type { Priority } from '../core/batching/index.js';
import type { PredictInput } from '../core/input.js';
import type { Tensor } from '../core/tensor.js';
import type { ModelSignature } from '../spec/tensor.js';

/** Lifecycle of a served model: warming → ready → closing → closed (or failed). */
export type ModelState = 'warming' | 'ready' | 'closing' | 'closed' | 'failed';

/** Per-call options for `predict`. */
export interface PredictOptions {
  /** Cancels the call; a cancelled call rejects with `ABORTED`. */
  readonly signal?: AbortSignal;
  /** Compute only these outputs (all when absent). Unknown names fail with `INVALID_INPUT`. */
  readonly outputs?: readonly string[];
  /**
   * Milliseconds the caller is willing to wait. A request still queued when it passes is dropped before
   * inference; either way the call fails with `DEADLINE_EXCEEDED`.
   */
  readonly deadlineMs?: number;
  /** Queue priority: `high` requests leave the queue before `normal` (default) and `low` ones. */
  readonly priority?: Priority;
}

/** Outputs by name. */
export type PredictOutputs = Record<string, Tensor>;

/**
 * What the HTTP layer serves: anything with a name, a version, a signature and `predict`.
 * A loaded `Model` is one; deployments that route between versions can be too.
 */
export interface ServableModel {
  readonly name: string;
  readonly version: string;
  readonly signature: ModelSignature;
  readonly state: ModelState;
  /** The runtime platform, as reported in KServe v2 metadata (`onnxruntime_onnx`). */
  readonly platform: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  predict(input: PredictInput, options?: PredictOptions): Promise<PredictOutputs>;
  ready(): Promise<void>;
  close(): Promise<void>;
}
