/**
 * Turns a validated config into what a program would build: registries and trackers by name, then every model
 * (`loadModel`) and deployment (`createDeployment`), loaded side by side. Relative paths are relative to the
 * config file. A failure closes whatever was loaded, so the process exits without leftover workers.
 */
import { isAbsolute, resolve } from 'node:path';
import {
  createDeployment,
  createDvcRegistry,
  createHttpRegistry,
  createLocalRegistry,
  createLocalTracker,
  createMlflowRegistry,
  createMlflowTracker,
  createSageMakerRegistry,
  createVertexRegistry,
  createAzureMlRegistry,
  createWandbRegistry,
  createWandbTracker,
  isPathRef,
  loadModel,
  type DeploymentOptions,
  type LoadModelOptions,
  type Logger,
  type RegistryAdapter,
  type Servable,
  type TrackingClient,
} from '../../index.node.js';
import type { ModelshipConfig, RegistryConfig, TrackerConfig } from './config-schema.js';

/** Settings the command line lays over every model's options (`--workers`, `--max-batch`, `--max-delay`). */
export interface ModelOverrides {
  readonly workers?: number | undefined;
  readonly maxBatchSize?: number | undefined;
  readonly maxQueueDelayMs?: number | undefined;
}

/** What a config builds; `close()` closes the trackers (the handler closes the models). */
export interface Built {
  readonly servables: Servable[];
  readonly registries: ReadonlyMap<string, RegistryAdapter>;
  close(): Promise<void>;
}

type Options = Record<string, unknown>;

const fromEnv = (env: NodeJS.ProcessEnv, name: unknown): string | undefined =>
  typeof name === 'string' ? env[name] : undefined;

/** A path in the file, relative to the file's directory. */
export function resolvePath(dir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dir, path);
}

/** A reference as the file gives it: a relative file path is relative to the file; the rest is as written. */
export function resolveRef<T>(dir: string, ref: T): T {
  if (typeof ref !== 'string' || !isPathRef(ref) || ref.startsWith('file:') || /^[a-z][a-z0-9+.-]*:\/\//i.test(ref))
    return ref;
  return resolvePath(dir, ref) as T;
}

/** Builds the registry a `registries` entry describes, with its secrets read from the environment. */
export function buildRegistry(
  entry: RegistryConfig,
  dir: string,
  env: NodeJS.ProcessEnv,
  extra?: Options,
): RegistryAdapter {
  const { type, ...rest } = entry as Options & { type: string };
  const o: Options = { ...rest, ...(type === 'local' ? {} : extra) };
  for (const k of ['tokenEnv', 'usernameEnv', 'passwordEnv', 'apiKeyEnv', 'headersEnv']) delete o[k];
  if (typeof o.cacheDir === 'string') o.cacheDir = resolvePath(dir, o.cacheDir);
  const r = rest as Options;
  switch (type) {
    case 'local':
      return createLocalRegistry({ ...o, root: resolvePath(dir, o.root as string) } as never);
    case 'http': {
      const headers = Object.fromEntries(
        Object.entries((r.headersEnv ?? {}) as Record<string, string>).map(([h, v]) => [h, env[v] ?? '']),
      );
      return createHttpRegistry({ ...o, ...(Object.keys(headers).length ? { headers } : {}) } as never);
    }
    case 'mlflow':
      return createMlflowRegistry({
        ...o,
        ...(r.tokenEnv ? { token: fromEnv(env, r.tokenEnv) } : {}),
        ...(r.usernameEnv ? { username: fromEnv(env, r.usernameEnv) } : {}),
        ...(r.passwordEnv ? { password: fromEnv(env, r.passwordEnv) } : {}),
      } as never);
    case 'wandb':
      return createWandbRegistry({ ...o, ...(r.apiKeyEnv ? { apiKey: fromEnv(env, r.apiKeyEnv) } : {}) } as never);
    case 'dvc':
      // A relative repository path is relative to the file, like the other paths; git URLs are kept as written.
      return createDvcRegistry({
        ...o,
        repo: /^\.{1,2}[\\/]/.test(o.repo as string) ? resolvePath(dir, o.repo as string) : o.repo,
      } as never);
    case 'vertex':
      return createVertexRegistry({
        ...o,
        ...(typeof o.keyFilename === 'string' ? { keyFilename: resolvePath(dir, o.keyFilename) } : {}),
      } as never);
    case 'azureml':
      return createAzureMlRegistry(o as never);
    default:
      return createSageMakerRegistry(o as never);
  }
}

function buildTracker(entry: TrackerConfig, dir: string, env: NodeJS.ProcessEnv): TrackingClient {
  const { type, tokenEnv, apiKeyEnv, ...o } = entry as Options & { type: string };
  for (const k of ['root', 'spoolDir']) if (typeof o[k] === 'string') o[k] = resolvePath(dir, o[k] as string);
  if (type === 'local') return createLocalTracker(o as never);
  if (type === 'mlflow')
    return createMlflowTracker({ ...o, ...(tokenEnv ? { token: fromEnv(env, tokenEnv) } : {}) } as never);
  return createWandbTracker({ ...o, ...(apiKeyEnv ? { apiKey: fromEnv(env, apiKeyEnv) } : {}) } as never);
}

/** A model's options with the command line's overrides laid over them. */
export function withOverrides(options: Options, overrides: ModelOverrides, serverWorkers?: number): Options {
  const out: Options = { ...options };
  const workers = overrides.workers ?? (out.workers as number | undefined) ?? serverWorkers;
  if (workers !== undefined) out.workers = workers;
  if (overrides.maxBatchSize !== undefined || overrides.maxQueueDelayMs !== undefined) {
    const batching = out.batching === false || out.batching === undefined ? {} : (out.batching as Options);
    out.batching = {
      ...batching,
      ...(overrides.maxBatchSize !== undefined ? { maxBatchSize: overrides.maxBatchSize } : {}),
      ...(overrides.maxQueueDelayMs !== undefined ? { maxQueueDelayMs: overrides.maxQueueDelayMs } : {}),
    };
  }
  return out;
}

/**
 * Loads every model and deployment of `config` at once. Each resolves to a `Servable` in the order of the file
 * (models, then deployments); `onReady` is called as each becomes ready.
 */
export async function buildFromConfig(
  config: ModelshipConfig,
  dir: string,
  settings: {
    overrides?: ModelOverrides;
    logger?: Logger;
    env?: NodeJS.ProcessEnv;
    onReady?: (servable: Servable) => void;
  } = {},
): Promise<Built> {
  const env = settings.env ?? process.env;
  const overrides = settings.overrides ?? {};
  const serverWorkers = config.server?.workers as number | undefined;
  const registries = new Map<string, RegistryAdapter>();
  for (const [name, entry] of Object.entries(config.registries ?? {}))
    registries.set(name, buildRegistry(entry, dir, env));
  const trackers = new Map<string, TrackingClient>();
  for (const [name, entry] of Object.entries(config.trackers ?? {})) trackers.set(name, buildTracker(entry, dir, env));
  const registryOf = (name: unknown): { registry?: RegistryAdapter } => {
    const r = typeof name === 'string' ? registries.get(name) : undefined;
    return r === undefined ? {} : { registry: r };
  };
  const logger = settings.logger === undefined ? {} : { logger: settings.logger };
  const ready = async (s: Promise<Servable>): Promise<Servable> => {
    const servable = await s;
    await (servable as { ready?: () => Promise<void> }).ready?.();
    settings.onReady?.(servable);
    return servable;
  };

  const loads: Promise<Servable>[] = [];
  for (const [name, m] of Object.entries(config.models ?? {})) {
    const { ref, registry, ...options } = m as Options & { ref: string; registry?: string };
    if (typeof options.cacheDir === 'string') options.cacheDir = resolvePath(dir, options.cacheDir);
    const opts = { ...withOverrides(options, overrides, serverWorkers), name, ...registryOf(registry), ...logger };
    loads.push(ready(loadModel(resolveRef(dir, ref), opts as LoadModelOptions)));
  }
  for (const [name, d] of Object.entries(config.deployments ?? {})) {
    const { registry, tracking, modelOptions, ...rest } = d as Options & {
      registry?: string;
      tracking?: Options & { tracker: string };
      modelOptions?: Options;
    };
    for (const role of ['canary', 'shadow'] as const) {
      const v = rest[role] as (Options & { ref: unknown }) | undefined;
      if (v !== undefined) rest[role] = { ...v, ref: resolveRef(dir, v.ref) };
    }
    const options = {
      ...rest,
      name,
      stable: resolveRef(dir, rest.stable),
      ...registryOf(registry),
      ...logger,
      modelOptions: withOverrides(modelOptions ?? {}, overrides, serverWorkers),
      ...(tracking ? { tracking: { ...tracking, tracker: trackers.get(tracking.tracker) } } : {}),
    };
    loads.push(ready(createDeployment(options as DeploymentOptions)));
  }
  const closeTrackers = async (): Promise<void> => {
    await Promise.all([...trackers.values()].map((t) => t.close?.().catch(() => undefined)));
  };
  const settled = await Promise.allSettled(loads);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(
      settled.map((s) => (s.status === 'fulfilled' ? s.value.close?.().catch(() => undefined) : undefined)),
    );
    await closeTrackers();
    throw failed.reason;
  }
  return {
    servables: settled.map((s) => (s as PromiseFulfilledResult<Servable>).value),
    registries,
    close: closeTrackers,
  };
}
