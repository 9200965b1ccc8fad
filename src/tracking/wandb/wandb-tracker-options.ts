import { z } from 'zod';
import { WANDB_DEFAULT_BASE_URL, wandbEnv } from '../../clients/wandb/settings.js';
import { parseOptions } from '../../core/options.js';
import { spoolOptionsShape } from '../spool/spool-options.js';

/** Options for {@link createWandbTracker}. Strict: a misspelt option fails loudly. */
export const wandbTrackerOptionsSchema = z.strictObject({
  /** API key (default `$WANDB_API_KEY`), sent as HTTP Basic `api:<key>`. */
  apiKey: z.string().min(1).optional(),
  /** The user or team the runs belong to (default `$WANDB_ENTITY`). */
  entity: z.string().min(1).optional(),
  /** The project (default `$WANDB_PROJECT`). */
  project: z.string().min(1).optional(),
  /** The API server (default `$WANDB_BASE_URL` or `https://api.wandb.ai`). */
  baseUrl: z
    .url({ protocol: /^https?$/, message: 'baseUrl must be an http(s) URL such as https://api.wandb.ai' })
    .optional(),
  ...spoolOptionsShape,
});

/** Options accepted by {@link createWandbTracker}. */
export type WandbTrackerOptions = z.input<typeof wandbTrackerOptionsSchema>;

/** Parsed options with the environment's fallbacks applied. */
export type ResolvedWandbTrackerOptions = z.output<typeof wandbTrackerOptionsSchema> & {
  apiKey: string;
  entity: string;
  project: string;
  baseUrl: string;
};

const HINT =
  "Pass { apiKey, entity: 'my-team', project: 'mnist' } or set WANDB_API_KEY, WANDB_ENTITY and WANDB_PROJECT.";

/** Parses options once at the boundary, filling in `WANDB_*` environment variables. */
export function parseWandbTrackerOptions(
  options: unknown,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedWandbTrackerOptions {
  const given = (options ?? {}) as Record<string, unknown>;
  const fromEnv = wandbEnv(env);
  const withEnv: Record<string, unknown> = {
    ...given,
    apiKey: given.apiKey ?? fromEnv.apiKey,
    entity: given.entity ?? fromEnv.entity,
    project: given.project ?? fromEnv.project,
    baseUrl: given.baseUrl ?? fromEnv.baseUrl ?? WANDB_DEFAULT_BASE_URL,
  };
  for (const key of Object.keys(withEnv)) if (withEnv[key] === undefined) delete withEnv[key];
  const required = wandbTrackerOptionsSchema.extend({
    apiKey: z.string({ message: 'apiKey is required (or WANDB_API_KEY)' }).min(1),
    entity: z.string({ message: 'entity is required (or WANDB_ENTITY)' }).min(1),
    project: z.string({ message: 'project is required (or WANDB_PROJECT)' }).min(1),
  });
  return parseOptions(required, withEnv, 'W&B tracker', HINT) as ResolvedWandbTrackerOptions;
}
