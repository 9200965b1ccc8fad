/** The Weights & Biases tracker (GraphQL + file stream, spooled). Node-only. */
export { createWandbTracker, type WandbTracker } from './wandb-tracker.js';
export {
  parseWandbTrackerOptions,
  wandbTrackerOptionsSchema,
  type WandbTrackerOptions,
} from './wandb-tracker-options.js';
