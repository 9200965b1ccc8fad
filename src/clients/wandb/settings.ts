/** W&B's public API server, used when neither options nor `WANDB_BASE_URL` name another. */
export const WANDB_DEFAULT_BASE_URL = 'https://api.wandb.ai';

/** Where a W&B client connects, as whom, and the entity/project names leave out. */
export interface WandbSettings {
  readonly apiKey?: string | undefined;
  readonly baseUrl?: string | undefined;
  readonly entity?: string | undefined;
  readonly project?: string | undefined;
}

/**
 * The W&B settings the environment gives, as W&B's own SDKs read them: `WANDB_API_KEY`, `WANDB_BASE_URL`,
 * `WANDB_ENTITY`, `WANDB_PROJECT`. Unset variables are left out.
 *
 * @example
 * ```ts
 * const apiKey = options.apiKey ?? wandbEnv().apiKey;
 * ```
 */
export function wandbEnv(env: NodeJS.ProcessEnv = process.env): WandbSettings {
  const settings: Record<string, string> = {};
  const pairs = [
    ['apiKey', env.WANDB_API_KEY],
    ['baseUrl', env.WANDB_BASE_URL],
    ['entity', env.WANDB_ENTITY],
    ['project', env.WANDB_PROJECT],
  ] as const;
  for (const [key, value] of pairs) if (value !== undefined) settings[key] = value;
  return settings;
}

/** How W&B clients authenticate: HTTP Basic `api:<key>`; no header without a key. */
export function wandbAuth(apiKey: string | undefined): Record<string, string> {
  return apiKey === undefined || apiKey === ''
    ? {}
    : { authorization: `Basic ${Buffer.from(`api:${apiKey}`).toString('base64')}` };
}
