/**
 * The environment a config file relies on: credentials are never in the file, so a registry or tracker whose
 * variable is unset is reported before anything starts, at the key that needs it.
 */
import type { ModelshipConfig } from './config-schema.js';

/** A missing variable, at the config key that needs it. */
export interface EnvProblem {
  readonly path: string[];
  readonly message: string;
}

type Entry = Record<string, unknown> & { type: string };

const unset = (env: NodeJS.ProcessEnv, name: string): boolean => (env[name] ?? '') === '';

function checkEntry(entry: Entry, base: string[], env: NodeJS.ProcessEnv, out: EnvProblem[]): void {
  for (const key of ['tokenEnv', 'usernameEnv', 'passwordEnv', 'apiKeyEnv']) {
    const name = entry[key];
    if (typeof name === 'string' && unset(env, name))
      out.push({
        path: [...base, key],
        message: `the environment variable ${name} is not set; export it, or remove ${key}`,
      });
  }
  if (entry.type === 'mlflow' && entry.trackingUri === undefined && unset(env, 'MLFLOW_TRACKING_URI'))
    out.push({
      path: [...base, 'type'],
      message: 'an MLflow entry needs trackingUri, or MLFLOW_TRACKING_URI set in the environment',
    });
  if (entry.type === 'wandb' && entry.apiKeyEnv === undefined && unset(env, 'WANDB_API_KEY'))
    out.push({
      path: [...base, 'type'],
      message: 'a W&B entry needs an API key: set WANDB_API_KEY, or name another variable with apiKeyEnv',
    });
  const headers = entry.headersEnv as Record<string, string> | undefined;
  for (const [header, name] of Object.entries(headers ?? {}))
    if (unset(env, name))
      out.push({
        path: [...base, 'headersEnv', header],
        message: `the environment variable ${name} is not set; export it, or remove the header`,
      });
}

/** Every variable the config names (or its registries and trackers need) that the environment lacks. */
export function checkConfigEnv(config: ModelshipConfig, env: NodeJS.ProcessEnv): EnvProblem[] {
  const out: EnvProblem[] = [];
  for (const [name, r] of Object.entries(config.registries ?? {}))
    checkEntry(r as Entry, ['registries', name], env, out);
  for (const [name, t] of Object.entries(config.trackers ?? {})) checkEntry(t as Entry, ['trackers', name], env, out);
  const tokenEnv = config.server?.adminTokenEnv as string | undefined;
  if (tokenEnv !== undefined && unset(env, tokenEnv))
    out.push({
      path: ['server', 'adminTokenEnv'],
      message: `the environment variable ${tokenEnv} is not set; export the admin token in it, or remove adminTokenEnv`,
    });
  return out;
}
