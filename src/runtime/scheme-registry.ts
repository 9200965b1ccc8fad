/**
 * Scheme references name their registry: `models:/…` is the MLflow Model Registry, `wandb:…` W&B, `sagemaker:…`
 * the SageMaker Model Registry, `dvc:…` a DVC/GTO repository (`MODELSHIP_DVC_REPO`), `vertex:…` the Vertex AI
 * Model Registry and `azureml:…` an Azure Machine Learning workspace or registry. Given no `registry`,
 * `loadModel` and `createDeployment` (and `modelship serve`) build that adapter from the environment, as the
 * vendors' own clients do, or say which variable or factory is missing, instead of trying the local registry and
 * failing on the name. The vendors' SDKs stay unloaded until the adapter first needs them.
 */
import { ModelshipError } from '../errors/index.js';
import type { RegistryAdapter } from '../spec/registry.js';
import { createMlflowRegistry } from '../registries/mlflow/index.js';
import { createWandbRegistry } from '../registries/wandb/index.js';
import { createSageMakerRegistry } from '../registries/sagemaker/index.js';
import { createDvcRegistry } from '../registries/dvc/index.js';
import { createVertexRegistry, parseVertexRef } from '../registries/vertex/index.js';
import { createAzureMlRegistry, parseAzureMlRef } from '../registries/azureml/index.js';

/** One setting the adapter needs: the variables that may give it, the first set one wins. */
type Need = readonly string[];

/** What one reference needs from the environment, and the options it carries itself. */
interface Scope {
  readonly required: readonly Need[];
  /** Options taken from the reference (a full Vertex resource name, an Azure ML datastore URI). */
  readonly own?: Readonly<Record<string, string>>;
}

interface Scheme {
  readonly prefix: string;
  readonly what: string;
  /** The environment variables the adapter reads (a change in any gives another adapter). */
  readonly env: readonly string[];
  readonly factory: string;
  scope(ref: string, env: NodeJS.ProcessEnv): Scope;
  create(env: NodeJS.ProcessEnv, own: Readonly<Record<string, string>>): RegistryAdapter;
}

/** The first non-empty variable of `names`. */
const first = (env: NodeJS.ProcessEnv, names: Need): string | undefined =>
  names.map((n) => env[n]).find((v): v is string => v !== undefined && v !== '');

// Google's tools: GOOGLE_CLOUD_PROJECT (client libraries, Cloud Shell), GCLOUD_PROJECT (google-auth-library),
// CLOUDSDK_CORE_PROJECT (gcloud); GOOGLE_CLOUD_LOCATION (google-genai, ADK), CLOUD_ML_REGION (the Vertex AI
// Python SDK), CLOUDSDK_AI_REGION (gcloud ai). gcloud's endpoint override and the storage emulator variable let a
// private endpoint or a test server stand in.
const GCP_PROJECT = ['GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT', 'CLOUDSDK_CORE_PROJECT'];
const GCP_LOCATION = ['GOOGLE_CLOUD_LOCATION', 'CLOUD_ML_REGION', 'CLOUDSDK_AI_REGION'];
const VERTEX_ENDPOINT = 'CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM';

// Azure ML jobs set AZUREML_ARM_*; `az configure --defaults group=… workspace=…` is AZURE_DEFAULTS_* in the
// environment; AZURE_SUBSCRIPTION_ID / AZURE_RESOURCE_GROUP are what the SDK samples and azd use.
const AZ_SUBSCRIPTION = ['AZURE_SUBSCRIPTION_ID', 'AZUREML_ARM_SUBSCRIPTION'];
const AZ_GROUP = ['AZURE_RESOURCE_GROUP', 'AZUREML_ARM_RESOURCEGROUP', 'AZURE_DEFAULTS_GROUP'];
const AZ_WORKSPACE = ['AZUREML_ARM_WORKSPACE_NAME', 'AZURE_DEFAULTS_WORKSPACE'];

/** Only the settings that are set, so the adapter's own defaults apply to the rest. */
const defined = (o: Record<string, string | undefined>): Record<string, string> =>
  Object.fromEntries(Object.entries(o).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));

/** gcloud's override is a URL such as `https://us-central1-aiplatform.googleapis.com/` (maybe with `v1/`). */
const vertexRoot = (url: string | undefined): string | undefined =>
  url === undefined || url === '' ? undefined : url.replace(/\/+$/, '').replace(/\/v1$/, '');

const STORAGE_EMULATOR = (env: NodeJS.ProcessEnv): string | undefined => {
  const host = env.STORAGE_EMULATOR_HOST;
  if (host === undefined || host === '') return undefined;
  return /^https?:\/\//.test(host) ? host : `http://${host}`;
};

const SCHEMES: readonly Scheme[] = [
  {
    prefix: 'models:',
    what: 'an MLflow Model Registry reference',
    env: ['MLFLOW_TRACKING_URI', 'MLFLOW_TRACKING_TOKEN', 'MLFLOW_TRACKING_USERNAME', 'MLFLOW_TRACKING_PASSWORD'],
    factory: "createMlflowRegistry({ trackingUri: 'http://mlflow:5000' })",
    scope: () => ({ required: [['MLFLOW_TRACKING_URI']] }),
    create: () => createMlflowRegistry(),
  },
  {
    prefix: 'wandb:',
    what: 'a W&B artifact reference',
    env: ['WANDB_API_KEY', 'WANDB_BASE_URL', 'WANDB_ENTITY', 'WANDB_PROJECT'],
    factory: 'createWandbRegistry({ apiKey })',
    scope: () => ({ required: [['WANDB_API_KEY']] }),
    create: () => createWandbRegistry(),
  },
  {
    prefix: 'sagemaker:',
    what: 'a SageMaker Model Registry reference',
    // Credentials come from the AWS chain (env, profile, SSO, instance role), which cannot be checked here.
    env: ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_ACCESS_KEY_ID'],
    factory: "createSageMakerRegistry({ region: 'eu-west-1' })",
    scope: () => ({ required: [] }),
    create: () => createSageMakerRegistry(),
  },
  {
    prefix: 'dvc:',
    what: 'a DVC model registry reference (GTO tags in a Git repository)',
    // DVC and GTO have no variable naming the repository (they run inside a clone), so modelship names its own.
    env: ['MODELSHIP_DVC_REPO', 'MODELSHIP_DVC_REMOTE'],
    factory: "createDvcRegistry({ repo: 'https://github.com/org/models.git' })",
    scope: () => ({ required: [['MODELSHIP_DVC_REPO']] }),
    create: (env) =>
      createDvcRegistry({
        repo: env.MODELSHIP_DVC_REPO as string,
        ...(env.MODELSHIP_DVC_REMOTE ? { remote: env.MODELSHIP_DVC_REMOTE } : {}),
      }),
  },
  {
    prefix: 'vertex:',
    what: 'a Vertex AI Model Registry reference',
    // Credentials are Application Default Credentials (key file, gcloud, metadata server): checked on first use.
    env: [...GCP_PROJECT, ...GCP_LOCATION, VERTEX_ENDPOINT, 'STORAGE_EMULATOR_HOST', 'GOOGLE_APPLICATION_CREDENTIALS'],
    factory: "createVertexRegistry({ project: 'my-project', location: 'us-central1' })",
    scope(ref): Scope {
      // A full resource name carries project and location; the regional endpoint must be the model's own.
      let parsed: ReturnType<typeof parseVertexRef> | undefined;
      try {
        parsed = parseVertexRef(ref);
      } catch {
        parsed = undefined; // the adapter reports the bad reference itself, with its grammar
      }
      if (parsed?.project !== undefined && parsed.location !== undefined)
        return { required: [], own: { project: parsed.project, location: parsed.location } };
      return { required: [GCP_PROJECT] };
    },
    create: (env, own) =>
      createVertexRegistry(
        defined({
          project: first(env, GCP_PROJECT),
          location: first(env, GCP_LOCATION),
          apiEndpoint: vertexRoot(env[VERTEX_ENDPOINT]),
          storageEndpoint: STORAGE_EMULATOR(env),
          ...own,
        }),
      ),
  },
  {
    prefix: 'azureml:',
    what: 'an Azure Machine Learning model reference',
    // Credentials are DefaultAzureCredential's (env, workload or managed identity, az login): checked on first use.
    env: [...AZ_SUBSCRIPTION, ...AZ_GROUP, ...AZ_WORKSPACE, 'AZURE_CLIENT_ID', 'AZURE_TENANT_ID'],
    factory: "createAzureMlRegistry({ subscriptionId, resourceGroup: 'ml', workspace: 'my-ws' })",
    scope(ref, env): Scope {
      let parsed: ReturnType<typeof parseAzureMlRef> | undefined;
      try {
        parsed = parseAzureMlRef(ref);
      } catch {
        parsed = undefined;
      }
      // A datastore URI names its subscription, resource group and workspace.
      if (parsed?.kind === 'datastore')
        return {
          required: [],
          own: {
            subscriptionId: parsed.subscriptionId,
            resourceGroup: parsed.resourceGroup,
            workspace: parsed.workspace,
          },
        };
      // A registry URI names its registry; the subscription and group that hold it come from the environment.
      if (parsed?.registry !== undefined && first(env, AZ_WORKSPACE) === undefined)
        return { required: [AZ_SUBSCRIPTION, AZ_GROUP], own: { registry: parsed.registry } };
      return { required: [AZ_SUBSCRIPTION, AZ_GROUP, AZ_WORKSPACE] };
    },
    create: (env, own) =>
      createAzureMlRegistry(
        defined({
          subscriptionId: first(env, AZ_SUBSCRIPTION),
          resourceGroup: first(env, AZ_GROUP),
          ...(own.registry === undefined ? { workspace: first(env, AZ_WORKSPACE) } : {}),
          ...own,
        }),
      ),
  },
];

/** One adapter per scheme, environment and reference scope, so the model cache and outage fallback are shared. */
const adapters = new Map<string, RegistryAdapter>();

/** The names of a missing setting: `A` or `A (or B, C)`. */
const nameOf = (need: Need): string =>
  need.length === 1 ? (need[0] as string) : `${need[0] as string} (or ${need.slice(1).join(', ')})`;

/**
 * The registry a scheme reference (`models:/mnist@production`, `wandb:team/proj/mnist:prod`, `sagemaker:group/3`,
 * `dvc:mnist#prod`, `vertex:mnist@prod`, `azureml:mnist@prod`) picks from the environment; `undefined` for any
 * other reference. Throws INVALID_OPTIONS naming the variable to set and the factory to pass instead when the
 * environment lacks it.
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
  const scope = scheme.scope(ref, env);
  const missing = scope.required.filter((need) => first(env, need) === undefined);
  if (missing.length > 0)
    throw new ModelshipError(
      'INVALID_OPTIONS',
      `${JSON.stringify(ref.slice(0, 200))} is ${scheme.what}, and ${missing.map(nameOf).join(', ')} ${missing.length > 1 ? 'are' : 'is'} not set: set ${missing.length > 1 ? 'them' : 'it'}, or pass { registry: ${scheme.factory} }.`,
    );
  const own = scope.own ?? {};
  const key = [scheme.prefix, ...scheme.env.map((name) => env[name] ?? ''), JSON.stringify(own)].join('\u0000');
  let adapter = adapters.get(key);
  if (adapter === undefined) {
    try {
      adapter = scheme.create(env, own);
    } catch (error) {
      // A malformed variable (GOOGLE_CLOUD_LOCATION=eu west) is named, not the option it became.
      const set = scheme.env.filter((name) => (env[name] ?? '') !== '');
      throw new ModelshipError(
        'INVALID_OPTIONS',
        `${JSON.stringify(ref.slice(0, 200))} is ${scheme.what}, and the registry built from ${set.length > 0 ? set.join(', ') : 'the reference'} refused its settings; fix the variable, or pass { registry: ${scheme.factory} }. ${(error as Error).message}`,
        { cause: error },
      );
    }
    adapters.set(key, adapter);
  }
  return adapter;
}
