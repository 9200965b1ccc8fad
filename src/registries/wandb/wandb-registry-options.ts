import { z } from 'zod';
import { parseOptions } from '../../core/options.js';
import { remoteOptionsShape } from '../kit/remote-options.js';

/** Options for {@link createWandbRegistry}. Unset values fall back to `WANDB_API_KEY`, `WANDB_BASE_URL`, `WANDB_ENTITY`, `WANDB_PROJECT`. */
export const wandbRegistryOptionsSchema = z.strictObject({
  /** API key, sent as HTTP Basic auth `api:<key>` (default `$WANDB_API_KEY`). */
  apiKey: z.string().min(1).optional(),
  /** The W&B server (default `$WANDB_BASE_URL`, else `https://api.wandb.ai`). */
  baseUrl: z
    .string()
    .regex(/^https?:\/\/[^/]/i, 'baseUrl must be an http(s):// URL of a W&B server')
    .optional(),
  /** Entity (user or team) for references and names that leave it out (default `$WANDB_ENTITY`). */
  entity: z.string().min(1).optional(),
  /** Project for `publish`, `listVersions` and references that leave it out (default `$WANDB_PROJECT`). */
  project: z.string().min(1).optional(),
  /** The artifact file to load when a version holds several `.onnx` files. */
  file: z.string().min(1).optional(),
  /** Default polling interval (ms) for `watch` (default 30 000), spread by ±10 % jitter. */
  watchIntervalMs: z.number().int().min(1).max(86_400_000).optional(),
  ...remoteOptionsShape,
});

/** Options accepted by {@link createWandbRegistry}. */
export type WandbRegistryOptions = z.input<typeof wandbRegistryOptionsSchema>;

/** Validates options once at the boundary; throws INVALID_OPTIONS describing every problem. */
export function parseWandbRegistryOptions(options: unknown): z.output<typeof wandbRegistryOptionsSchema> {
  return parseOptions(
    wandbRegistryOptionsSchema,
    options ?? {},
    'W&B registry',
    "Pass { apiKey, entity: 'my-team', project: 'my-project' } or set WANDB_API_KEY and WANDB_ENTITY.",
  );
}
