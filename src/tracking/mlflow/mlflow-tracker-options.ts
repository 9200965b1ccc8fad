import { z } from 'zod';
import { mlflowEnv } from '../../clients/mlflow/settings.js';
import { parseOptions } from '../../core/options.js';
import { spoolOptionsShape } from '../spool/spool-options.js';

/** Options for {@link createMlflowTracker}. Strict: a misspelt option fails loudly. */
export const mlflowTrackerOptionsSchema = z.strictObject({
  /** The MLflow server, e.g. `http://localhost:5000` (default `$MLFLOW_TRACKING_URI`). */
  trackingUri: z
    .url({ protocol: /^https?$/, message: 'trackingUri must be an http(s) URL such as http://localhost:5000' })
    .optional(),
  /** Bearer token (default `$MLFLOW_TRACKING_TOKEN`). */
  token: z.string().min(1).optional(),
  /** Basic-auth user and password (default `$MLFLOW_TRACKING_USERNAME` / `$MLFLOW_TRACKING_PASSWORD`). */
  username: z.string().min(1).optional(),
  password: z.string().optional(),
  ...spoolOptionsShape,
});

/** Options accepted by {@link createMlflowTracker}. */
export type MlflowTrackerOptions = z.input<typeof mlflowTrackerOptionsSchema>;

/** The parsed options with the environment's fallbacks applied. */
export type ResolvedMlflowTrackerOptions = z.output<typeof mlflowTrackerOptionsSchema> & { trackingUri: string };

/** Parses options once at the boundary, filling in `MLFLOW_TRACKING_*` environment variables. */
export function parseMlflowTrackerOptions(
  options: unknown,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedMlflowTrackerOptions {
  const given = (options ?? {}) as Record<string, unknown>;
  const fromEnv = mlflowEnv(env);
  const withEnv = {
    ...given,
    trackingUri: given.trackingUri ?? fromEnv.trackingUri,
    token: given.token ?? fromEnv.token,
    username: given.username ?? fromEnv.username,
    password: given.password ?? fromEnv.password,
  };
  for (const key of ['trackingUri', 'token', 'username', 'password'] as const)
    if (withEnv[key] === undefined) delete withEnv[key];
  const parsed = parseOptions(
    mlflowTrackerOptionsSchema,
    withEnv,
    'MLflow tracker',
    "Pass { trackingUri: 'http://localhost:5000' } or set MLFLOW_TRACKING_URI.",
  );
  if (parsed.trackingUri === undefined) {
    return parseOptions(
      mlflowTrackerOptionsSchema.extend({ trackingUri: z.string({ message: 'trackingUri is required' }) }),
      withEnv,
      'MLflow tracker',
      "Pass { trackingUri: 'http://localhost:5000' } or set MLFLOW_TRACKING_URI.",
    ) as ResolvedMlflowTrackerOptions;
  }
  return parsed as ResolvedMlflowTrackerOptions;
}
