import { fileURLToPath } from 'node:url';
import type { TrackingClient } from '../spec/tracking.js';
import { createLocalTracker, type LocalTrackerOptions } from './local/index.js';
import { createMlflowTracker, type MlflowTrackerOptions } from './mlflow/index.js';
import { createWandbTracker, type WandbTrackerOptions } from './wandb/index.js';

/** Options for {@link createTracker}, per kind; only the chosen kind's are used. */
export interface CreateTrackerOptions {
  readonly local?: LocalTrackerOptions;
  readonly mlflow?: MlflowTrackerOptions;
  readonly wandb?: WandbTrackerOptions;
}

/**
 * The tracker the environment asks for: MLflow when `MLFLOW_TRACKING_URI` is an http(s) URL, W&B when
 * `MODELSHIP_TRACKER=wandb`, otherwise the local `mlruns/` directory (also at the path of a `file:`
 * `MLFLOW_TRACKING_URI`). Lets one script log locally on a laptop and to a server in CI without changes.
 *
 * @example
 * ```ts
 * const tracker = createTracker();   // MLFLOW_TRACKING_URI=http://mlflow:5000 switches to MLflow
 * ```
 */
export function createTracker(
  options: CreateTrackerOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): TrackingClient {
  const uri = env.MLFLOW_TRACKING_URI ?? '';
  if (env.MODELSHIP_TRACKER === 'wandb') return createWandbTracker(options.wandb);
  if (/^https?:/i.test(uri)) return createMlflowTracker({ trackingUri: uri, ...options.mlflow });
  return createLocalTracker({ ...(uri.startsWith('file:') ? { root: fileURLToPath(uri) } : {}), ...options.local });
}
