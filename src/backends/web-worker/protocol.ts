import type { ErrorCode } from '../../errors/index.js';
import type { BackendSessionOptions } from '../../spec/backend.js';
import type { ModelSignature, TensorLike } from '../../spec/tensor.js';

/** Requests the main thread sends to the worker hosting a backend. */
export type WorkerRequest =
  | { readonly id: number; readonly op: 'create'; readonly bytes: Uint8Array; readonly options: BackendSessionOptions }
  | {
      readonly id: number;
      readonly op: 'run';
      readonly session: number;
      readonly feeds: Record<string, TensorLike>;
      readonly outputs?: readonly string[];
    }
  | { readonly id: number; readonly op: 'release'; readonly session: number };

/** A modelship error as it crosses the thread boundary (the code survives; stack and cause stay behind). */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

/** The worker's answers, matched to requests by `id`. */
export type WorkerResponse =
  | {
      readonly id: number;
      readonly ok: true;
      readonly session?: number;
      readonly signature?: ModelSignature;
      readonly outputs?: Record<string, TensorLike>;
    }
  | { readonly id: number; readonly ok: false; readonly error: WireError };

/** Marks messages as modelship's, so a worker can carry other traffic too. */
export const CHANNEL = 'modelship.backend.v1';

/** The part of `Worker`, `MessagePort` and a worker's global scope the protocol uses. */
export interface MessageEndpoint {
  /** Sends a request or an answer; tensors' buffers go in `transfer`, so they move instead of being copied. */
  postMessage(message: unknown, transfer?: Transferable[]): void;
  /** Listens for requests or answers. */
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  /** Stops listening (used when present). */
  removeEventListener?(type: 'message', listener: (event: MessageEvent) => void): void;
}
