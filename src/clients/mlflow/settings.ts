import type { MlflowCredentials } from './auth.js';

/** Where an MLflow client connects and as whom, before the environment fills in what options leave out. */
export interface MlflowSettings extends MlflowCredentials {
  /** The tracking server, e.g. `http://127.0.0.1:5000`; may carry `user:password@`. */
  readonly trackingUri?: string | undefined;
}

/**
 * The MLflow settings the environment gives, as MLflow's own client reads them: `MLFLOW_TRACKING_URI`,
 * `MLFLOW_TRACKING_TOKEN`, `MLFLOW_TRACKING_USERNAME`, `MLFLOW_TRACKING_PASSWORD`. Unset variables are left out.
 *
 * @example
 * ```ts
 * const trackingUri = options.trackingUri ?? mlflowEnv().trackingUri;
 * ```
 */
export function mlflowEnv(env: NodeJS.ProcessEnv = process.env): MlflowSettings {
  const settings: Record<string, string> = {};
  const pairs = [
    ['trackingUri', env.MLFLOW_TRACKING_URI],
    ['token', env.MLFLOW_TRACKING_TOKEN],
    ['username', env.MLFLOW_TRACKING_USERNAME],
    ['password', env.MLFLOW_TRACKING_PASSWORD],
  ] as const;
  for (const [key, value] of pairs) if (value !== undefined) settings[key] = value;
  return settings;
}
