import type { TensorLike } from '../../spec/tensor.js';
import type { Priority } from './request-queue.js';

/** A request's input tensors, by input name. */
export type Feeds = Readonly<Record<string, TensorLike>>;
/** A run's output tensors, by output name. */
export type Outputs = Record<string, TensorLike>;

/** What runs a batch: a backend session, seen through the two things the batcher needs. */
export interface BatchExecutor {
  /** Batches run at once (a worker pool: its size). */
  readonly concurrency: number;
  run(feeds: Feeds, outputs: readonly string[] | undefined): Promise<Outputs>;
}

/** Dynamic batching settings, resolved (see `batchingOptionsSchema` for the user-facing form). */
export interface BatcherConfig {
  /** Concatenate compatible requests along dimension 0; false runs each request as given. */
  readonly enabled: boolean;
  /** Most rows in one batch; bigger requests are split into parts of this size. */
  readonly maxBatchSize: number;
  /** How long the oldest request may wait for a fuller batch while a worker is free (0: never wait). */
  readonly maxQueueDelayMs: number;
  /** Batch sizes the model runs best at; a batch that reaches one leaves without waiting. */
  readonly preferredBatchSizes: readonly number[];
  /** Requests that may wait; beyond it `submit` fails with `QUEUE_FULL`. */
  readonly maxQueueSize: number;
}

/** Hooks for metrics and logs. All optional, called synchronously. */
export interface BatcherObserver {
  /** Whether durations are wanted; when false the batcher takes no timestamps it does not need itself. */
  timed?(): boolean;
  /** A batch is leaving the queue: its row count and how long each request in it waited (seconds). */
  dispatched?(rows: number, waits: readonly number[]): void;
  /** A batch finished: its run time in seconds and whether it succeeded. */
  executed?(seconds: number, ok: boolean): void;
  /** Batched outputs did not keep the batch dimension; the batcher has stopped batching this model. */
  unbatchable?(message: string): void;
}

/** Per-request options. */
export interface SubmitOptions {
  readonly signal?: AbortSignal | undefined;
  /** Milliseconds from now after which the request fails with `DEADLINE_EXCEEDED` (dropped if still queued). */
  readonly deadlineMs?: number | undefined;
  readonly priority?: Priority | undefined;
  readonly outputs?: readonly string[] | undefined;
}
