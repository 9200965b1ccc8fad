export { Batcher, type BatchExecutor, type BatcherConfig, type BatcherObserver, type SubmitOptions } from './batcher.js';
export { BATCHING_DEFAULTS, batchingOptionsSchema, resolveBatching, type BatchingOptions } from './batching-options.js';
export { isBatchable } from './assemble.js';
export type { Priority } from './request-queue.js';
