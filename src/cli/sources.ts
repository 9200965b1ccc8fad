/**
 * Where the one-shot commands (pull, inspect, validate, bench, registry) find models: a registry from a config
 * file (`--config modelship.yaml --registry prod`), else what the library picks by itself (the local registry
 * in `$MODELSHIP_MODELS_DIR` or `./models`; `models:/`, `wandb:`, `sagemaker:`, `dvc:`, `vertex:` and `azureml:`
 * references from the environment).
 */
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { createLocalRegistry, isPathRef, ModelshipError, registryForRef, type RegistryAdapter } from '../index.node.js';
import { defaultModelsDir } from '../node.js';
import { buildRegistry, resolveRef } from './config/build.js';
import { loadConfig } from './config/load-config.js';

/** The flags that pick a registry. */
export interface SourceFlags {
  config?: string;
  registry?: string;
}

/** Adds `--config` and `--registry` to a command. */
export function withSourceFlags(command: Command): Command {
  return command
    .option('-c, --config <file>', 'a modelship.yaml whose registries to use')
    .option('-r, --registry <name>', 'which registry of the config file (default: its only one)');
}

/** The registry the flags name, or undefined for the library's own choice; `extra` options go to remote registries. */
export async function registryFrom(
  flags: SourceFlags,
  extra?: Record<string, unknown>,
): Promise<RegistryAdapter | undefined> {
  if (flags.config === undefined) {
    if (flags.registry !== undefined)
      throw new ModelshipError(
        'INVALID_OPTIONS',
        '--registry names a registry of a config file: add --config modelship.yaml.',
      );
    return undefined;
  }
  const file = resolve(flags.config);
  const config = await loadConfig(file);
  const entries = Object.entries(config.registries ?? {});
  const pick = flags.registry ?? (entries.length === 1 ? entries[0]?.[0] : undefined);
  const entry = entries.find(([name]) => name === pick)?.[1];
  if (entry === undefined)
    throw new ModelshipError(
      'INVALID_OPTIONS',
      entries.length === 0
        ? 'The config file defines no registries.'
        : `Pick one of the config file's registries with --registry: ${entries.map(([n]) => n).join(', ')}.`,
    );
  return buildRegistry(entry, dirname(file), process.env, extra);
}

/** A reference from the command line: relative paths are relative to the working directory. */
export function cliRef(ref: string): string {
  return resolveRef(process.cwd(), ref);
}

/**
 * The registry a named reference resolves in, as `loadModel` would pick it: the config file's, the one a
 * scheme reference names (from the environment), else the local registry; `undefined` for files and URLs.
 */
export async function registryForCli(ref: string, flags: SourceFlags): Promise<RegistryAdapter | undefined> {
  const fromConfig = await registryFrom(flags);
  if (fromConfig !== undefined) return fromConfig;
  if (isPathRef(ref) || /^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) return registryForRef(ref);
  return registryForRef(ref) ?? createLocalRegistry({ root: defaultModelsDir() });
}
