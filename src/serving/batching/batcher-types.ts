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
  /**
   * Batches each of those accepts at once: 2 when a worker takes its next batch while it runs one, so that it
   * never waits for the caller's thread between runs. Default 1.
   */
  readonly depth?: number;
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
  /**
   * Present when adaptive batching measures the batch-gain curve and chooses what the user left open: the
   * values the user gave (they win) and the latency budget.
   */
  readonly adaptive?: AdaptiveSettings | undefined;
}

/** What adaptive batching was told; undefined fields are chosen by measurement. */
export interface AdaptiveSettings {
  readonly maxBatchSize?: number | undefined;
  readonly maxQueueDelayMs?: number | undefined;
  readonly p99BudgetMs?: number | undefined;
}

/** Hooks for metrics and logs. All optional, called synchronously. */
export interface BatcherObserver {
  /** Whether durations are wanted; when false the batcher takes no timestamps it does not need itself. */
  timed?(): boolean;
  /** A batch is leaving the queue: its row count and how long each request in it waited (seconds). */
  dispatched?(rows: number, waits: readonly number[]): void;
  /** A batch finished: its run time in seconds and whether it succeeded. */
  executed?(seconds: number, ok: boolean): void;
  /** Adaptive batching chose (again): what, from which curve, and why. */
  tuned?(stats: BatchingStats): void;
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

/** One measured point of a model's batch-gain curve. */
export interface BatchGainPoint {
  /** Rows in the batch. */
  readonly rows: number;
  /** Median time of one run of that many rows, in ms (the round trip through the backend). */
  readonly ms: number;
  /** Rows per second one worker gets at this batch size. */
  readonly rowsPerSecond: number;
  /** Rows per second relative to single-row runs: 1.0 means batching gains nothing at this size. */
  readonly gain: number;
  /** `warm-up`: measured before the model took requests; `live`: from the batches traffic formed since. */
  readonly source: 'warm-up' | 'live';
}

/** The batching the curve led to (`model.stats().batching` shows it with its reason). */
export interface BatchingChoice {
  readonly maxBatchSize: number;
  /** The queue delay applied: 0 unless waiting for a fuller batch pays. */
  readonly maxQueueDelayMs: number;
  /**
   * `split`: whatever is queued leaves at once, shared among the free workers (no worker idles while requests
   * wait). `join`: a free worker may wait up to `maxQueueDelayMs` for a fuller batch, because batching pays.
   */
  readonly mode: 'split' | 'join';
  /** The best gain measured (rows per second at the best size over single rows). */
  readonly bestGain: number;
  /** Why, in a sentence a user can act on. */
  readonly reason: string;
}

/** What `model.stats().batching` shows: the curve, the choice and why. */
export interface BatchingStats extends BatchingChoice {
  /** `auto`: the measurement chose what the user left open; `fixed`: settings as given, nothing measured. */
  readonly source: 'auto' | 'fixed';
  /** The batch-gain curve (empty until measured, or when the model's input shapes are unknown). */
  readonly curve: readonly BatchGainPoint[];
  /** How many times live traffic changed the curve enough to choose again. */
  readonly remeasured: number;
}
