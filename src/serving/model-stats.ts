import type { ExecutionStats } from '../spec/backend.js';
import type { BatchingStats } from './batching/index.js';

/** Live load figures of a model. */
export interface ModelStats {
  /** Requests accepted and not answered yet (queued or running). */
  readonly inFlight: number;
  /** Requests waiting for a free worker. */
  readonly queueDepth: number;
  /** Batches running now. */
  readonly running: number;
  /** Batches that can run at once (the worker count). */
  readonly concurrency: number;
  /** The batching in effect, the batch-gain curve it was chosen from, and why (see docs/performance.md). */
  readonly batching: BatchingStats;
  /** Where lone calls run: a worker, or the calling thread for a small model (measured after 32 lone calls). */
  readonly execution?: ExecutionStats;
}
