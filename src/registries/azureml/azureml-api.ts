import { createArmRest, isArmNotFound, type ArmRest } from '../../clients/azure/arm-rest.js';
import { createAzureAuth, type AzureAuth } from '../../clients/azure/azure-auth.js';
import { armRoot, scopeFromEnv } from '../../clients/azure/azure-settings.js';
import { createBlobStore, type BlobAuth, type BlobLocation, type BlobStore } from '../../clients/azure/blob.js';
import { ModelshipError } from '../../errors/index.js';
import { createHttpClient } from '../../platform/node/http-client.js';
import { httpClientSettings } from '../kit/remote-store.js';
import type { ParsedAzureMlOptions } from './azureml-registry-options.js';

/** ARM's ModelContainer resource (`…/models/{name}`). */
export interface ModelContainerJson {
  readonly name: string;
  readonly properties: {
    readonly description?: string | null;
    readonly tags?: Record<string, string> | null;
    readonly properties?: Record<string, string> | null;
    readonly latestVersion?: string | null;
    readonly nextVersion?: string | null;
    readonly isArchived?: boolean;
  };
}

/** ARM's ModelVersion resource (`…/models/{name}/versions/{version}`). */
export interface ModelVersionJson {
  readonly id?: string;
  /** The version. */
  readonly name: string;
  readonly properties: {
    readonly description?: string | null;
    readonly tags?: Record<string, string> | null;
    readonly properties?: Record<string, string> | null;
    readonly modelUri?: string | null;
    readonly modelType?: string | null;
    readonly isArchived?: boolean;
    readonly stage?: string | null;
    readonly jobName?: string | null;
  };
  readonly systemData?: { readonly createdAt?: string; readonly createdBy?: string };
}

/** The Azure ML calls the adapter makes, scoped to one workspace or registry. */
export interface AzureMlApi {
  readonly rest: ArmRest;
  readonly blobs: BlobStore;
  readonly auth: AzureAuth;
  /** `…/workspaces/<w>` or `…/registries/<r>` (no api-version). */
  base(registry?: string): string;
  readonly apiVersion: string;
  /** The adapter's own scope. */
  readonly scope: { readonly subscriptionId: string; readonly resourceGroup: string; readonly workspace?: string };
  /** Whether the adapter's own scope is an Azure ML registry. */
  readonly isRegistry: boolean;
  url(path: string, query?: Record<string, string>): string;
  getContainer(base: string, name: string, signal?: AbortSignal): Promise<ModelContainerJson>;
  getVersion(base: string, name: string, version: string, signal?: AbortSignal): Promise<ModelVersionJson>;
  /** Every version, following `nextLink` (only on the ARM origin, so the bearer token goes nowhere else). */
  listVersions(base: string, name: string, signal?: AbortSignal): Promise<ModelVersionJson[]>;
  /** Where a model URI's file is, and how to sign its requests. */
  blobOf(modelUri: string, signal?: AbortSignal): Promise<BlobLocation>;
  /** A workspace datastore's blob root (`path` inside it). */
  datastoreBlob(workspaceBase: string, datastore: string, path: string, signal?: AbortSignal): Promise<BlobLocation>;
}

interface DatastoreJson {
  readonly properties: {
    readonly datastoreType?: string;
    readonly accountName?: string;
    readonly containerName?: string;
    readonly endpoint?: string;
    readonly protocol?: string;
    readonly credentials?: { readonly credentialsType?: string };
  };
}

const missing = (what: string): ModelshipError =>
  new ModelshipError(
    'INVALID_OPTIONS',
    `No Azure ${what}: pass it to createAzureMlRegistry or set ${what === 'subscription' ? 'AZURE_SUBSCRIPTION_ID' : what === 'resource group' ? 'AZURE_RESOURCE_GROUP' : 'AZUREML_ARM_WORKSPACE_NAME'}.`,
  );

/** Connects to ARM and blob storage with the registry's settings. */
export function createAzureMlApi(options: ParsedAzureMlOptions): AzureMlApi {
  const root = armRoot(options);
  const scope = scopeFromEnv(options);
  const subscriptionId = scope.subscriptionId ?? process.env.AZUREML_ARM_SUBSCRIPTION;
  const resourceGroup = scope.resourceGroup ?? process.env.AZUREML_ARM_RESOURCEGROUP;
  const workspace = options.workspace ?? (options.registry ? undefined : process.env.AZUREML_ARM_WORKSPACE_NAME);
  if (subscriptionId === undefined) throw missing('subscription');
  if (resourceGroup === undefined) throw missing('resource group');
  if (workspace === undefined && options.registry === undefined) throw missing('workspace');
  if (workspace !== undefined && options.registry !== undefined)
    throw new ModelshipError(
      'INVALID_OPTIONS',
      'Pass either workspace or registry to createAzureMlRegistry, not both.',
    );
  const apiVersion = options.apiVersion ?? '2024-04-01';
  const groupBase = `${root}/subscriptions/${encodeURIComponent(subscriptionId)}/resourceGroups/${encodeURIComponent(resourceGroup)}/providers/Microsoft.MachineLearningServices`;
  const http = createHttpClient(httpClientSettings(options));
  const auth = createAzureAuth(options.credential);
  // ARM's audience is its own root (`https://management.azure.com/.default`, a sovereign cloud's, or a test server's).
  const rest = createArmRest(http, auth, `${root}/.default`, 'Azure ML');
  const armOrigin = new URL(root).origin;
  const secrets = new Map<string, Promise<BlobAuth>>();
  const keyOf = (loc: BlobLocation): string => `${loc.serviceUrl} ${loc.container}`;
  const blobAuth = new Map<string, () => Promise<BlobAuth>>();
  const blobs = createBlobStore(async (loc) => {
    const k = keyOf(loc);
    let got = secrets.get(k);
    if (got === undefined) {
      const make = blobAuth.get(k);
      got = make ? make() : Promise.resolve({ kind: 'aad', credential: auth.credential } as BlobAuth);
      secrets.set(k, got);
      got.catch(() => secrets.delete(k));
    }
    return got;
  });
  const url = (path: string, query: Record<string, string> = {}): string =>
    `${path}?${new URLSearchParams({ 'api-version': apiVersion, ...query }).toString()}`;
  const api: AzureMlApi = {
    rest,
    blobs,
    auth,
    apiVersion,
    isRegistry: options.registry !== undefined,
    scope: { subscriptionId, resourceGroup, ...(workspace === undefined ? {} : { workspace }) },
    url,
    base: (registry) =>
      registry !== undefined
        ? `${groupBase}/registries/${encodeURIComponent(registry)}`
        : options.registry !== undefined
          ? `${groupBase}/registries/${encodeURIComponent(options.registry)}`
          : `${groupBase}/workspaces/${encodeURIComponent(workspace as string)}`,
    getContainer: (base, name, signal) =>
      rest<ModelContainerJson>({
        method: 'GET',
        url: url(`${base}/models/${encodeURIComponent(name)}`),
        idempotent: true,
        what: 'getting a model',
        signal,
      }),
    getVersion: (base, name, version, signal) =>
      rest<ModelVersionJson>({
        method: 'GET',
        url: url(`${base}/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`),
        idempotent: true,
        what: 'getting a model version',
        signal,
      }),
    async listVersions(base, name, signal) {
      const all: ModelVersionJson[] = [];
      let next: string | undefined = url(`${base}/models/${encodeURIComponent(name)}/versions`);
      for (let page = 0; next !== undefined; page++) {
        if (page >= (options.maxPages ?? 1000))
          throw new ModelshipError('REGISTRY_UNAVAILABLE', 'Azure ML kept sending nextLink pages; stopped listing.', {
            retryable: false,
          });
        const body: { value?: ModelVersionJson[]; nextLink?: string | null } = await rest({
          method: 'GET',
          url: next,
          idempotent: true,
          what: 'listing model versions',
          signal,
        });
        all.push(...(body.value ?? []));
        next = body.nextLink || undefined;
        if (next !== undefined && new URL(next, root).origin !== armOrigin)
          throw new ModelshipError(
            'REGISTRY_UNAVAILABLE',
            'Azure ML sent a nextLink to another host; it was not followed (the bearer token stays with ARM).',
            { retryable: false },
          );
      }
      return all;
    },
    async datastoreBlob(workspaceBase, datastore, path, signal) {
      const dsUrl = `${workspaceBase}/datastores/${encodeURIComponent(datastore)}`;
      const ds = await rest<DatastoreJson>({
        method: 'GET',
        url: url(dsUrl),
        idempotent: true,
        what: 'getting a datastore',
        signal,
      }).catch((error: unknown) => {
        throw isArmNotFound(error)
          ? new ModelshipError('MODEL_NOT_FOUND', `The workspace has no datastore ${JSON.stringify(datastore)}.`, {
              cause: error,
            })
          : error;
      });
      const p = ds.properties;
      if (p.datastoreType !== 'AzureBlob' || !p.accountName || !p.containerName)
        throw new ModelshipError(
          'INVALID_ARGUMENT',
          `Datastore ${JSON.stringify(datastore)} is ${p.datastoreType ?? 'of an unknown type'}; modelship reads models from AzureBlob datastores.`,
        );
      const serviceUrl =
        options.blobEndpoint ?? `${p.protocol ?? 'https'}://${p.accountName}.blob.${p.endpoint ?? 'core.windows.net'}`;
      const loc: BlobLocation = { serviceUrl, container: p.containerName, name: path };
      const kind = p.credentials?.credentialsType ?? 'None';
      const account = p.accountName;
      blobAuth.set(keyOf(loc), async (): Promise<BlobAuth> => {
        if (kind === 'None') return { kind: 'aad', credential: auth.credential };
        // Datastores with a key or SAS hand it to callers with the workspace's listSecrets permission.
        const s = await rest<{ secretsType?: string; key?: string; sasToken?: string }>({
          method: 'POST',
          url: url(`${dsUrl}/listSecrets`),
          idempotent: true,
          what: 'reading the datastore credentials',
          signal,
        });
        if (s.secretsType === 'AccountKey' && s.key) return { kind: 'key', account, key: s.key };
        if (s.secretsType === 'Sas' && s.sasToken) return { kind: 'sas', sas: s.sasToken };
        throw new ModelshipError(
          'REGISTRY_AUTH_FAILED',
          `Datastore ${JSON.stringify(datastore)} has ${s.secretsType ?? 'no'} secrets; modelship uses account keys, SAS tokens or identity-based access.`,
        );
      });
      return loc;
    },
    async blobOf(modelUri, signal) {
      const ds =
        /^azureml:\/\/subscriptions\/([^/]+)\/resource[gG]roups\/([^/]+)\/(?:providers\/Microsoft\.MachineLearningServices\/)?workspaces\/([^/]+)\/datastores\/([^/]+)\/paths\/(.*)$/.exec(
          modelUri,
        );
      if (ds) {
        const [, s, g, w, d, p] = ds as unknown as [string, string, string, string, string, string];
        const wsBase = `${root}/subscriptions/${encodeURIComponent(s)}/resourceGroups/${encodeURIComponent(g)}/providers/Microsoft.MachineLearningServices/workspaces/${encodeURIComponent(w)}`;
        return api.datastoreBlob(wsBase, decodeURIComponent(d), decodeURIComponent(p), signal);
      }
      const short = /^azureml:\/\/datastores\/([^/]+)\/paths\/(.*)$/.exec(modelUri);
      if (short && workspace !== undefined)
        return api.datastoreBlob(
          api.base(),
          decodeURIComponent(short[1] as string),
          decodeURIComponent(short[2] as string),
          signal,
        );
      const https = /^https:\/\/([a-z0-9]{3,24})\.blob\.([^/]+)\/([^/?#]+)\/([^?#]*)$/.exec(modelUri);
      if (https) {
        const [, account, suffix, container, name] = https as unknown as [string, string, string, string, string];
        return {
          serviceUrl: options.blobEndpoint ?? `https://${account}.blob.${suffix}`,
          container: decodeURIComponent(container),
          name: decodeURIComponent(name),
        };
      }
      throw new ModelshipError(
        'INVALID_ARGUMENT',
        'The model version has a modelUri modelship cannot read (it reads azureml://…/datastores/<d>/paths/… and https://<account>.blob.… URIs).',
      );
    },
  };
  return api;
}
