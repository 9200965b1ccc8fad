export { Batcher } from './batcher.js';
export type {
  AdaptiveSettings,
  BatchExecutor,
  BatchGainPoint,
  BatchingChoice,
  BatchingStats,
  BatcherConfig,
  BatcherObserver,
  SubmitOptions,
} from './batcher-types.js';
export { BATCHING_DEFAULTS, batchingOptionsSchema, resolveBatching, type BatchingOptions } from './batching-options.js';
export { isBatchable } from './assemble.js';
export type { Priority } from './request-queue.js';
export { BatchTuner, createBatchTuner, fixedBatchingStats } from './batch-tuner.js';
export { chooseBatching, WAIT_PAYS_GAIN, type ChoiceSettings } from './batch-choice.js';
export { measureBatchCurve, tileRows, CALIBRATION_BUDGET_MS } from './batch-curve.js';
export { synthesizeInputs } from './synthesize-inputs.js';
