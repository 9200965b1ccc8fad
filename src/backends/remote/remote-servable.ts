import type { PredictInput } from '../../core/input.js';
import type { Tensor } from '../../core/tensor.js';
import type { ModelSignature } from '../../spec/tensor.js';

/** Per-call options a remote endpoint honours: the subset of `predict` options that mean something remotely. */
export interface RemotePredictOptions {
  readonly signal?: AbortSignal;
  readonly outputs?: readonly string[];
  readonly deadlineMs?: number;
}

/**
 * A remote endpoint loaded as a model. Structurally the `ServableModel` the serving layer serves (backends sit
 * below serving, so the shape is written out here; routing's loader hook checks that it still fits).
 */
export interface RemoteServable {
  readonly name: string;
  readonly version: string;
  readonly signature: ModelSignature;
  /** The serving lifecycle's states (`ModelState`); a remote endpoint is only ever `ready` or `closed`. */
  readonly state: 'warming' | 'ready' | 'closing' | 'closed' | 'failed';
  readonly platform: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  predict(input: PredictInput, options?: RemotePredictOptions): Promise<Record<string, Tensor>>;
  ready(): Promise<void>;
  close(): Promise<void>;
}
