/** The local tracker: MLflow's file-store layout in a directory. Node-only. */
export { createLocalTracker, type LocalTracker } from './local-tracker.js';
export {
  localTrackerOptionsSchema,
  parseLocalTrackerOptions,
  type LocalTrackerOptions,
} from './local-tracker-options.js';
