/** The MLflow tracker (REST 2.0, spooled). Node-only. */
export { createMlflowTracker, type MlflowTracker } from './mlflow-tracker.js';
export {
  mlflowTrackerOptionsSchema,
  parseMlflowTrackerOptions,
  type MlflowTrackerOptions,
} from './mlflow-tracker-options.js';
export { RUN_KEY_TAG } from './mlflow-transport.js';
