/**
 * `modelship registry ls|versions|alias|publish`: a registry from a terminal. The registry is a config file's
 * (`--config modelship.yaml --registry prod`) or a kind built from the environment (`--registry mlflow` reads
 * MLFLOW_TRACKING_URI, `wandb` WANDB_API_KEY, `sagemaker` the AWS chain; `local`, the default, is
 * $MODELSHIP_MODELS_DIR or ./models). Capabilities a registry lacks are said so, not faked.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  createLocalRegistry,
  ModelshipError,
  registryForRef,
  type ModelVersionInfo,
  type RegistryAdapter,
} from '../../index.node.js';
import { defaultModelsDir } from '../../node.js';
import { registryFrom, type SourceFlags } from '../sources.js';
import { say, table } from '../ui.js';

interface RegistryFlags extends SourceFlags {
  json?: boolean;
}

/** A scheme reference standing for each kind, so the environment is read where the library reads it. */
const KINDS: Record<string, string> = {
  mlflow: 'models:/_',
  wandb: 'wandb:_/_/_',
  sagemaker: 'sagemaker:_',
  dvc: 'dvc:_',
  vertex: 'vertex:_',
  azureml: 'azureml:_',
};

async function open(flags: RegistryFlags): Promise<RegistryAdapter> {
  if (flags.config !== undefined) return (await registryFrom(flags)) as RegistryAdapter;
  const kind = flags.registry ?? 'local';
  if (kind === 'local') return createLocalRegistry({ root: defaultModelsDir() });
  const ref = KINDS[kind];
  if (ref === undefined)
    throw new ModelshipError(
      'INVALID_OPTIONS',
      `--registry is local, mlflow, wandb, sagemaker, dvc, vertex or azureml (or a name from --config), not ${JSON.stringify(kind)}.`,
    );
  return registryForRef(ref) as RegistryAdapter;
}

function lacks(registry: RegistryAdapter, what: string): ModelshipError {
  return new ModelshipError('INVALID_OPTIONS', `The ${registry.kind ?? ''} registry cannot ${what}.`);
}

function versionRows(versions: readonly ModelVersionInfo[]): string[][] {
  return [
    ['version', 'aliases', 'sha256', 'size', 'created'],
    ...versions.map((v) => [
      v.version,
      v.aliases.join(','),
      v.sha256?.slice(0, 12) ?? '',
      v.size === undefined ? '' : String(v.size),
      v.createdAt ?? '',
    ]),
  ];
}

/** `key=value` pairs (repeatable), values parsed as JSON when they are JSON (`acc=0.97` is a number). */
function collectPair(value: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const at = value.indexOf('=');
  if (at <= 0) throw new ModelshipError('INVALID_OPTIONS', `--metadata takes key=value, not ${JSON.stringify(value)}.`);
  const raw = value.slice(at + 1);
  let parsed: unknown = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // a plain string
  }
  return { ...previous, [value.slice(0, at)]: parsed };
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

const EXAMPLES: Record<string, string> = {
  ls: '$ modelship registry ls',
  versions: '$ MLFLOW_TRACKING_URI=http://mlflow:5000 modelship registry versions mnist --registry mlflow',
  alias: '$ modelship registry alias mnist production 3 --config modelship.yaml --registry prod',
  publish: '$ modelship registry publish ./mnist.onnx --name mnist --alias candidate --metadata accuracy=0.97',
};

function withFlags(command: Command): Command {
  return command
    .option('-c, --config <file>', 'a modelship.yaml whose registries to use')
    .option(
      '-r, --registry <name>',
      'local (default), mlflow, wandb, sagemaker, dvc, vertex, azureml, or a registry of --config',
    )
    .option('--json', 'print JSON')
    .addHelpText('after', `\nExamples:\n  ${EXAMPLES[command.name()] ?? ''}`);
}

/** Adds `registry` and its subcommands to the program. */
export function registryCommand(program: Command): void {
  const registry = program
    .command('registry')
    .description('List, alias and publish models in a registry (local, MLflow, W&B, SageMaker)')
    .addHelpText(
      'after',
      `
Examples:
  $ modelship registry ls
  $ modelship registry publish ./mnist.onnx --name mnist --alias candidate --metadata accuracy=0.97
  $ MLFLOW_TRACKING_URI=http://mlflow:5000 modelship registry versions mnist --registry mlflow
  $ modelship registry alias mnist production 3 --config modelship.yaml --registry prod`,
    );
  withFlags(registry.command('ls').description('List the models (registries that can list them: local)')).action(
    async (flags: RegistryFlags) => {
      const r = await open(flags);
      const list = (r as { listModels?: () => Promise<string[]> }).listModels;
      if (list === undefined) throw lacks(r, 'list its models; use `modelship registry versions <name>`');
      const names = await list.call(r);
      say(flags.json === true ? JSON.stringify(names) : names.join('\n'));
    },
  );
  withFlags(registry.command('versions').description('List the versions of a model').argument('<name>')).action(
    async (name: string, flags: RegistryFlags) => {
      const r = await open(flags);
      if (r.listVersions === undefined) throw lacks(r, 'list versions');
      const versions = await r.listVersions(name);
      say(flags.json === true ? JSON.stringify(versions, null, 2) : table(versionRows(versions)));
    },
  );
  withFlags(
    registry
      .command('alias')
      .description('Point an alias at a version (or remove it with --delete)')
      .argument('<name>')
      .argument('<alias>')
      .argument('[version]')
      .option('--delete', 'remove the alias; the version stays'),
  ).action(
    async (name: string, alias: string, version: string | undefined, flags: RegistryFlags & { delete?: boolean }) => {
      const r = await open(flags);
      if (flags.delete === true) {
        if (r.deleteAlias === undefined) throw lacks(r, 'delete aliases');
        await r.deleteAlias(name, alias);
        return say(`${name}@${alias} removed`);
      }
      if (version === undefined)
        throw new ModelshipError(
          'INVALID_OPTIONS',
          'Give the version the alias points at: `registry alias <name> <alias> <version>`.',
        );
      if (r.setAlias === undefined) throw lacks(r, 'set aliases');
      await r.setAlias(name, alias, version);
      say(`${name}@${alias} → ${version}`);
    },
  );
  withFlags(
    registry
      .command('publish')
      .description('Publish a model file as a new version')
      .argument('<file>', 'the .onnx file')
      .requiredOption('--name <name>', 'the model name')
      .option('--alias <alias>', 'an alias for the new version (repeatable)', collect)
      .option('--metadata <key=value>', 'metadata to record (repeatable; JSON values allowed)', collectPair),
  ).action(
    async (
      file: string,
      flags: RegistryFlags & { name: string; alias?: string[]; metadata?: Record<string, unknown> },
    ) => {
      const r = await open(flags);
      if (r.publish === undefined) throw lacks(r, 'publish (it is read-only)');
      const published = await r.publish({
        name: flags.name,
        file: resolve(file),
        ...(flags.alias ? { aliases: flags.alias } : {}),
        ...(flags.metadata ? { metadata: flags.metadata } : {}),
      });
      if (flags.json === true) return say(JSON.stringify(published, null, 2));
      say(
        `published ${published.name} version ${published.version}${published.aliases.length ? ` (${published.aliases.join(', ')})` : ''}`,
      );
      say(`sha256  ${published.sha256}`);
    },
  );
}
