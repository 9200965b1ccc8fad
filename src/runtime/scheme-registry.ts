/**
 * Scheme references name their registry: `models:/…` is the MLflow Model Registry, `wandb:…` W&B, `sagemaker:…`
 * the SageMaker Model Registry, `dvc:…` a DVC/GTO repository (`MODELSHIP_DVC_REPO`). Given no `registry`,
 * `loadModel` and `createDeployment` (and `modelship serve`) build that adapter from the environment, as the vendors' own clients do, or say which variable or factory is
 * missing, instead of trying the local registry and failing on the name.
 */
import { ModelshipError } from '../errors/index.js';
import type { RegistryAdapter } from '../spec/registry.js';
import { createMlflowRegistry } from '../registries/mlflow/index.js';
import { createWandbRegistry } from '../registries/wandb/index.js';
import { createSageMakerRegistry } from '../registries/sagemaker/index.js';
import { createDvcRegistry } from '../registries/dvc/index.js';

interface Scheme {
  readonly prefix: string;
  readonly what: string;
  /** The environment variables the adapter reads (those in `required` must be set). */
  readonly env: readonly string[];
  readonly required: readonly string[];
  readonly factory: string;
  create(env: NodeJS.ProcessEnv): RegistryAdapter;
}

const SCHEMES: readonly Scheme[] = [
  {
    prefix: 'models:',
    what: 'an MLflow Model Registry reference',
    env: ['MLFLOW_TRACKING_URI', 'MLFLOW_TRACKING_TOKEN', 'MLFLOW_TRACKING_USERNAME', 'MLFLOW_TRACKING_PASSWORD'],
    required: ['MLFLOW_TRACKING_URI'],
    factory: "createMlflowRegistry({ trackingUri: 'http://mlflow:5000' })",
    create: () => createMlflowRegistry(),
  },
  {
    prefix: 'wandb:',
    what: 'a W&B artifact reference',
    env: ['WANDB_API_KEY', 'WANDB_BASE_URL', 'WANDB_ENTITY', 'WANDB_PROJECT'],
    required: ['WANDB_API_KEY'],
    factory: 'createWandbRegistry({ apiKey })',
    create: () => createWandbRegistry(),
  },
  {
    prefix: 'sagemaker:',
    what: 'a SageMaker Model Registry reference',
    // Credentials come from the AWS chain (env, profile, SSO, instance role), which cannot be checked here.
    env: ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_ACCESS_KEY_ID'],
    required: [],
    factory: "createSageMakerRegistry({ region: 'eu-west-1' })",
    create: () => createSageMakerRegistry(),
  },
  {
    prefix: 'dvc:',
    what: 'a DVC model registry reference (GTO tags in a Git repository)',
    // DVC and GTO have no variable naming the repository (they run inside a clone), so modelship names its own.
    env: ['MODELSHIP_DVC_REPO', 'MODELSHIP_DVC_REMOTE'],
    required: ['MODELSHIP_DVC_REPO'],
    factory: "createDvcRegistry({ repo: 'https://github.com/org/models.git' })",
    create: (env) =>
      createDvcRegistry({
        repo: env.MODELSHIP_DVC_REPO as string,
        ...(env.MODELSHIP_DVC_REMOTE ? { remote: env.MODELSHIP_DVC_REMOTE } : {}),
      }),
  },
];

/** One adapter per scheme and environment, so the model cache and outage fallback are shared between loads. */
const adapters = new Map<string, RegistryAdapter>();

/**
 * The registry a scheme reference (`models:/mnist@production`, `wandb:team/proj/mnist:prod`,
 * `sagemaker:group/3`) picks from the environment; `undefined` for any other reference. Throws INVALID_OPTIONS
 * naming the variable to set and the factory to pass instead when the environment lacks it.
 *
 * @example
 * ```ts
 * // MLFLOW_TRACKING_URI=http://mlflow:5000
 * const model = await loadModel('models:/mnist@production');   // uses registryForRef under the hood
 * ```
 */
export function registryForRef(ref: unknown, env: NodeJS.ProcessEnv = process.env): RegistryAdapter | undefined {
  if (typeof ref !== 'string') return undefined;
  const scheme = SCHEMES.find((s) => ref.startsWith(s.prefix));
  if (scheme === undefined) return undefined;
  const missing = scheme.required.filter((name) => (env[name] ?? '') === '');
  if (missing.length > 0)
    throw new ModelshipError(
      'INVALID_OPTIONS',
      `${JSON.stringify(ref)} is ${scheme.what}, and ${missing.join(', ')} is not set: set it, or pass { registry: ${scheme.factory} }.`,
    );
  const key = `${scheme.prefix}${scheme.env.map((name) => env[name] ?? '').join('\u0000')}`;
  let adapter = adapters.get(key);
  if (adapter === undefined) {
    adapter = scheme.create(env);
    adapters.set(key, adapter);
  }
  return adapter;
}
