import { z } from 'zod';
import { parseOptions } from '../../core/options.js';
import { remoteOptionsShape } from '../kit/remote-options.js';

/** Options for {@link createMlflowRegistry}. Unset credentials fall back to the `MLFLOW_TRACKING_*` variables. */
export const mlflowRegistryOptionsSchema = z.strictObject({
  /** The tracking server, e.g. `http://127.0.0.1:5000` (default `$MLFLOW_TRACKING_URI`). */
  trackingUri: z
    .string()
    .regex(/^https?:\/\/[^/]/i, 'trackingUri must be an http(s):// URL of an MLflow tracking server')
    .optional(),
  /** Bearer token (default `$MLFLOW_TRACKING_TOKEN`). */
  token: z.string().min(1).optional(),
  /** Basic auth user (default `$MLFLOW_TRACKING_USERNAME`); needs `password`. */
  username: z.string().min(1).optional(),
  /** Basic auth password (default `$MLFLOW_TRACKING_PASSWORD`). */
  password: z.string().optional(),
  /** Default polling interval (ms) for `watch` (default 30 000), spread by ±10 % jitter. */
  watchIntervalMs: z.number().int().min(1).max(86_400_000).optional(),
  /** How long `publish` waits for a version to leave PENDING_REGISTRATION, in ms (default 300 000, as MLflow's client). */
  registrationTimeoutMs: z.number().int().min(0).optional(),
  ...remoteOptionsShape,
});

/** Options accepted by {@link createMlflowRegistry}. */
export type MlflowRegistryOptions = z.input<typeof mlflowRegistryOptionsSchema>;

/** Validates options once at the boundary; throws INVALID_OPTIONS describing every problem. */
export function parseMlflowRegistryOptions(options: unknown): z.output<typeof mlflowRegistryOptionsSchema> {
  return parseOptions(
    mlflowRegistryOptionsSchema,
    options ?? {},
    'MLflow registry',
    "Pass { trackingUri: 'http://127.0.0.1:5000' } or set MLFLOW_TRACKING_URI.",
  );
}
