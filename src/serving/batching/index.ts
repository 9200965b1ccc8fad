export { Batcher } from './batcher.js';
export type { BatchExecutor, BatcherConfig, BatcherObserver, SubmitOptions } from './batcher-types.js';
export { BATCHING_DEFAULTS, batchingOptionsSchema, resolveBatching, type BatchingOptions } from './batching-options.js';
export { isBatchable } from './assemble.js';
export type { Priority } from './request-queue.js';
