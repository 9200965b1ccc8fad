/**
 * Experiment tracking, the public surface the Node entries re-export: the local `mlruns/` tracker, MLflow and
 * Weights & Biases (all behind the spec's TrackingClient; network trackers spool to disk first), and lineage
 * collection. Node-only.
 */
export { createTracker, type CreateTrackerOptions } from './create-tracker.js';
export { createLocalTracker, type LocalTracker, type LocalTrackerOptions } from './local/index.js';
export { createMlflowTracker, type MlflowTracker, type MlflowTrackerOptions } from './mlflow/index.js';
export { createWandbTracker, type WandbTracker, type WandbTrackerOptions } from './wandb/index.js';
export type { SpooledTracker, TrackerStats } from './spool/spooled-tracker.js';
export type { FetchLike } from '../core/fetch-like.js';
export { collectLineage, type CollectLineageOptions } from '../lineage/node/index.js';
