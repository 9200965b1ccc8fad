/**
 * `modelship pull <ref>`: resolves a reference and brings the model into the cache, with a progress bar (plain
 * lines when not on a terminal), printing the version and sha256. `--offline` proves the reference is servable
 * from the cache alone: the registry is cut off, exactly as in an outage, and the cache must answer.
 */
import type { Command } from 'commander';
import {
  createLocalRegistry,
  createMlflowRegistry,
  createWandbRegistry,
  ModelshipError,
  registryForRef,
  type RegistryAdapter,
  type RegistryWarning,
} from '../../index.node.js';
import { defaultModelsDir } from '../../node.js';
import { createProgress } from '../progress.js';
import { isUrlRef, pullUrl } from './pull-url.js';
import { registryFrom, withSourceFlags, type SourceFlags } from '../sources.js';
import { EXIT, say, style } from '../ui.js';

interface PullFlags extends SourceFlags {
  offline?: boolean;
  json?: boolean;
}

/** A fetch that never reaches the network: it fails as a refused connection does, which registries treat as an outage. */
const offlineFetch = (): Promise<Response> =>
  Promise.reject(
    Object.assign(new TypeError('fetch failed (modelship pull --offline)'), {
      cause: Object.assign(new Error('connect ECONNREFUSED (offline)'), { code: 'ECONNREFUSED' }),
    }),
  );

const OFFLINE = { fetch: offlineFetch, retries: 0 };

/** The registry of a scheme reference, cut off from the network. */
function offlineSchemeRegistry(ref: string): RegistryAdapter | undefined {
  if (ref.startsWith('models:')) return createMlflowRegistry(OFFLINE);
  if (ref.startsWith('wandb:')) return createWandbRegistry(OFFLINE);
  if (ref.startsWith('sagemaker:'))
    throw new ModelshipError(
      'INVALID_OPTIONS',
      'pull --offline cannot cut the SageMaker SDK off the network; check SageMaker references online.',
    );
  // Their credential chains (metadata server, managed identity) and storage SDKs reach the network on their own.
  if (ref.startsWith('vertex:') || ref.startsWith('azureml:'))
    throw new ModelshipError(
      'INVALID_OPTIONS',
      `pull --offline cannot cut the ${ref.startsWith('vertex:') ? 'Google' : 'Azure'} credential chain off the network; check ${ref.startsWith('vertex:') ? 'Vertex AI' : 'Azure ML'} references online.`,
    );
  return undefined;
}

async function pickRegistry(ref: string, flags: PullFlags): Promise<RegistryAdapter> {
  const fromConfig = await registryFrom(flags, flags.offline === true ? OFFLINE : undefined);
  if (fromConfig !== undefined) return fromConfig;
  const scheme = flags.offline === true ? offlineSchemeRegistry(ref) : registryForRef(ref);
  return scheme ?? createLocalRegistry({ root: defaultModelsDir() });
}

async function runPull(ref: string, flags: PullFlags): Promise<number> {
  if (isUrlRef(ref) && flags.config === undefined) return pullUrl(ref, flags);
  const registry = await pickRegistry(ref, flags);
  const warnings: RegistryWarning[] = [];
  const onWarning = (w: RegistryWarning): void => void warnings.push(w);
  let resolved;
  try {
    resolved = await registry.resolve(ref, { onWarning });
  } catch (error) {
    if (flags.offline !== true) throw error;
    const e = ModelshipError.isInstance(error) ? error : undefined;
    process.stderr.write(
      `${style.red('not servable offline', process.stderr)}: ${ref} has not been resolved through this cache before${e ? ` (${e.code})` : ''}; run \`modelship pull ${ref}\` while the registry is reachable.\n`,
    );
    return EXIT.failed;
  }
  if (flags.json !== true) say(`resolved ${ref} → ${resolved.name} version ${resolved.version}`);
  const progress = createProgress(process.stderr);
  let artifact;
  try {
    artifact = await registry.fetch(resolved, {
      onWarning,
      // MLflow streams artifacts chunked, without a length: the size the registry listed stands in.
      onProgress: (p) => progress.update(p.total === undefined && resolved.size ? { ...p, total: resolved.size } : p),
    });
  } catch (error) {
    progress.stop();
    if (flags.offline !== true) throw error;
    process.stderr.write(
      `${style.red('not servable offline', process.stderr)}: ${resolved.name} ${resolved.version} is not in the cache; run \`modelship pull ${ref}\` while the registry is reachable.\n`,
    );
    return EXIT.failed;
  }
  progress.stop();
  const file = artifact.kind === 'file' ? artifact.path : undefined;
  if (artifact.kind === 'file') artifact.release?.();
  const sha256 = (artifact.kind === 'file' ? artifact.sha256 : undefined) ?? resolved.sha256;
  const fromCache = warnings.some((w) => w.code === 'REGISTRY_OFFLINE');
  const summary = {
    ref,
    name: resolved.name,
    version: resolved.version,
    sha256: sha256 ?? null,
    size: resolved.size ?? null,
    offline: flags.offline === true,
    fromCache,
    ...(file !== undefined ? { file } : {}),
  };
  if (flags.json === true) say(JSON.stringify(summary));
  else {
    say(`version ${resolved.version}`);
    say(`sha256  ${sha256 ?? '(not recorded by the registry)'}`);
    if (flags.offline === true)
      say(style.green(`servable offline: ${resolved.name} ${resolved.version} is in the cache`));
  }
  return EXIT.ok;
}

/** Adds `pull` to the program. */
export function pullCommand(program: Command): void {
  withSourceFlags(
    program
      .command('pull')
      .description('Resolve a reference and download the model into the cache; print its version and sha256')
      .argument(
        '<ref>',
        'a registry reference (mnist@production, models:/mnist@prod, wandb:team/proj/mnist:prod, vertex:mnist@prod, azureml:mnist@prod, dvc:mnist#prod) or a URL (https://…#sha256=…, s3://…)',
      )
      .option('--offline', 'prove the reference is servable from the cache alone (exit 1 if not)')
      .option('--json', 'print the result as JSON'),
  )
    .addHelpText(
      'after',
      `
The cache is $MODELSHIP_CACHE_DIR, $XDG_CACHE_HOME/modelship or ~/.cache/modelship.

Examples:
  $ MLFLOW_TRACKING_URI=http://mlflow:5000 modelship pull models:/mnist@production
  $ modelship pull mnist@production --config modelship.yaml --registry prod
  $ modelship pull models:/mnist@production --offline    # in the image build, after pulling
  $ modelship pull 'https://models.example.com/mnist.onnx#sha256=9f86d0…'`,
    )
    .action(async (ref: string, flags: PullFlags) => {
      process.exitCode = await runPull(ref, flags);
    });
}
