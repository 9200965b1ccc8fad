/**
 * Experiment tracking: the local `mlruns/` tracker, MLflow and Weights & Biases, all behind the spec's
 * TrackingClient; network trackers spool to disk first. Node-only.
 */
export { createTracker, type CreateTrackerOptions } from './create-tracker.js';
export * from './local/index.js';
export * from './mlflow/index.js';
export * from './wandb/index.js';
export type { SpooledTracker, TrackerStats } from './spool/spooled-tracker.js';
export type { FetchLike } from './http.js';
export { collectLineage, type CollectLineageOptions } from './lineage/index.js';
