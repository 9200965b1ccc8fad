import type { ChannelError, ChannelInit } from '../../platform/node/worker-channel/channel.js';
import type { BackendSessionOptions } from '../../spec/backend.js';
import type { ModelSignature } from '../../spec/tensor.js';

/** Channel op: run the model on the tensors sent (inputs by signature index; `extra` = output indices). */
export const OP_RUN = 1;

/** One model's tenancy of a worker thread: its channel, the model, and how to open it. */
export interface WorkerLease {
  readonly channel: ChannelInit;
  /** The model: bytes in shared memory (one copy for every worker), or a path each worker opens. */
  readonly model:
    { readonly kind: 'bytes'; readonly bytes: SharedArrayBuffer } | { readonly kind: 'path'; readonly path: string };
  readonly options: BackendSessionOptions;
  /** How long the worker polls for the next call before sleeping (ms). */
  readonly spinMs?: number;
}

/** What a pool worker is started with: its first lease. */
export interface WorkerData extends WorkerLease {
  /** Test hook (`crashWorkersForTesting('start')`): the worker exits before loading, as a crashing custom op's init would. */
  readonly exitOnStartForTesting?: boolean;
}

/**
 * What a spare worker (its last session released) is sent on its parent port: the next model to serve (its
 * channel's port in the transfer list).
 */
export type WorkerCommand = { readonly type: 'lease'; readonly lease: WorkerLease };

/** What a worker reports on its parent port while starting. */
export type WorkerStatus =
  | { readonly type: 'ready'; readonly signature: ModelSignature }
  | { readonly type: 'failed'; readonly error: ChannelError };
