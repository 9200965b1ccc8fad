/**
 * DVC remotes on Google Cloud Storage (`gs://bucket/path`) and Azure Blob Storage (`azure://container/path`), read
 * and written through modelship's GCS and blob clients with the settings DVC itself reads: the remote's section of
 * `.dvc/config` (and of `.dvc/config.local` in a local checkout), then the environment, as
 * dvc.org/doc/user-guide/data-management/remote-storage describes for each.
 */
import { isAbsolute, join } from 'node:path';
import { createAzureAuth } from '../../clients/azure/azure-auth.js';
import type { AzureTokenCredential } from '../../clients/azure/azure-settings.js';
import { createBlobStore, type BlobAuth, type BlobLocation, type BlobStore } from '../../clients/azure/blob.js';
import { createGcpAuth } from '../../clients/gcp/gcp-auth.js';
import type { GcpOptions } from '../../clients/gcp/gcp-settings.js';
import { createGcs, parseGsUrl, type Gcs } from '../../clients/gcp/gcs.js';
import { storageEndpointFromEnv } from '../../clients/gcp/gs-url.js';
import { createGoogleRest } from '../../clients/gcp/google-rest.js';
import { ModelshipError } from '../../errors/index.js';
import type { ModelFile } from '../../platform/model-store.js';
import { createHttpClient, type HttpClientConfig } from '../../platform/node/http-client.js';
import type { RemoteSources } from '../../platform/node/sources.js';

/** What the registry's options add to the remotes' own settings (the rest comes from `.dvc/config` and the env). */
export interface CloudRemoteOptions {
  readonly gcs?: { readonly endpoint?: string | undefined; readonly keyFilename?: string | undefined } | undefined;
  readonly azure?:
    { readonly blobEndpoint?: string | undefined; readonly credential?: AzureTokenCredential | undefined } | undefined;
}

/** gs:// and azure:// DVC remotes: settings learnt from `.dvc/config`, one client per remote. */
export interface CloudRemotes {
  /** Records a remote's `.dvc/config` section (account_name, connection_string, credentialpath, endpointurl…). */
  learn(remoteUrl: string, settings: ReadonlyMap<string, string>): void;
  /** The object at `url` (gs:// or azure://) as a file for the model cache; `undefined` for other URLs. */
  file(url: string, signal?: AbortSignal): Promise<ModelFile> | undefined;
  /** Uploads for `publish` (what `dvc push` does); `undefined` for other URLs. */
  sources(url: string): RemoteSources | undefined;
}

/** Azure's well-known development storage account (Azurite), as `UseDevelopmentStorage=true` means it. */
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** `Key=value;` pairs of an Azure storage connection string (keys case-insensitive). */
function parseConnectionString(s: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of s.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  if (out.get('usedevelopmentstorage') === 'true') {
    out.set('accountname', DEV_ACCOUNT);
    out.set('accountkey', DEV_KEY);
    out.set('blobendpoint', out.get('blobendpoint') ?? `http://127.0.0.1:10000/${DEV_ACCOUNT}`);
  }
  return out;
}

/** `azure://container/path/to/object` → container and blob name. */
function parseAzureUrl(url: string): { container: string; name: string } {
  const m = /^azure:\/\/([^/]+)\/(.+)$/.exec(url);
  if (m === null) throw new ModelshipError('INVALID_ARGUMENT', 'A DVC Azure remote URL is azure://<container>/<path>.');
  return { container: m[1] as string, name: m[2] as string };
}

const isTrue = (v: string | undefined): boolean => v !== undefined && /^(true|1|yes)$/i.test(v);
const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

/** Azure blob location and auth for one remote, from its settings, then the variables DVC (adlfs) reads. */
function azureTarget(
  settings: ReadonlyMap<string, string>,
  options: CloudRemoteOptions['azure'],
  env: NodeJS.ProcessEnv,
  fallback: () => AzureTokenCredential,
): { serviceUrl: string; auth: BlobAuth } {
  const cs = parseConnectionString(
    nonEmpty(settings.get('connection_string')) ?? nonEmpty(env.AZURE_STORAGE_CONNECTION_STRING) ?? '',
  );
  const account =
    cs.get('accountname') ?? nonEmpty(settings.get('account_name')) ?? nonEmpty(env.AZURE_STORAGE_ACCOUNT);
  // A storage account name is 3-24 lower-case letters and digits: anything else would change the host it names.
  if (account !== undefined && !/^[a-z0-9]{3,24}$/.test(account))
    throw new ModelshipError(
      'INVALID_OPTIONS',
      `The DVC remote's Azure storage account ${JSON.stringify(account.slice(0, 40))} is not an account name (3-24 lower-case letters and digits); fix account_name in .dvc/config.`,
    );
  const protocol = cs.get('defaultendpointsprotocol') ?? 'https';
  const serviceUrl =
    options?.blobEndpoint ??
    cs.get('blobendpoint') ??
    (account === undefined
      ? undefined
      : `${protocol}://${account}.blob.${cs.get('endpointsuffix') ?? 'core.windows.net'}`);
  if (serviceUrl === undefined)
    throw new ModelshipError(
      'INVALID_OPTIONS',
      'The DVC remote is on Azure but names no storage account: run `dvc remote modify <remote> account_name <account>` in the model repository, or set AZURE_STORAGE_ACCOUNT or AZURE_STORAGE_CONNECTION_STRING.',
    );
  // The order DVC tries: connection string, then account key or SAS token, then anonymous, then the default credential.
  const key = cs.get('accountkey') ?? nonEmpty(settings.get('account_key')) ?? nonEmpty(env.AZURE_STORAGE_KEY);
  const sas =
    cs.get('sharedaccesssignature') ?? nonEmpty(settings.get('sas_token')) ?? nonEmpty(env.AZURE_STORAGE_SAS_TOKEN);
  let auth: BlobAuth;
  if (key !== undefined && account !== undefined) auth = { kind: 'key', account, key };
  else if (sas !== undefined) auth = { kind: 'sas', sas };
  else if (isTrue(settings.get('allow_anonymous_login'))) auth = { kind: 'sas', sas: '' };
  else auth = { kind: 'aad', credential: options?.credential ?? fallback() };
  return { serviceUrl, auth };
}

/** The clients for gs:// and azure:// remotes, created on first use per remote. */
export function createCloudRemotes(
  http: HttpClientConfig,
  options: CloudRemoteOptions,
  localRepo: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): CloudRemotes {
  const learnt = new Map<string, ReadonlyMap<string, string>>();
  const settingsOf = (url: string): { base: string; settings: ReadonlyMap<string, string> } => {
    const hit = [...learnt].find(([base]) => url.startsWith(`${base.replace(/\/+$/, '')}/`));
    return hit === undefined ? { base: '', settings: new Map() } : { base: hit[0], settings: hit[1] };
  };
  const gcsClients = new Map<string, Gcs>();
  const gcs = (url: string): Gcs => {
    const { base, settings } = settingsOf(url);
    let client = gcsClients.get(base);
    if (client === undefined) {
      const configured = nonEmpty(settings.get('credentialpath'));
      // DVC reads a relative credentialpath from the config file's folder (.dvc/ of a local checkout).
      const keyFilename =
        options.gcs?.keyFilename ??
        (configured !== undefined && !isAbsolute(configured) && localRepo !== undefined
          ? join(localRepo, '.dvc', configured)
          : configured);
      const auth = createGcpAuth((keyFilename === undefined ? {} : { keyFilename }) as GcpOptions);
      const endpoint = options.gcs?.endpoint ?? nonEmpty(settings.get('endpointurl')) ?? storageEndpointFromEnv(env);
      client = createGcs(createGoogleRest(createHttpClient(http), auth, 'Cloud Storage'), auth, endpoint);
      gcsClients.set(base, client);
    }
    return client;
  };
  let aad: AzureTokenCredential | undefined;
  const blobClients = new Map<string, { store: BlobStore; serviceUrl: string }>();
  const blob = (url: string): { store: BlobStore; loc: BlobLocation } => {
    const { base, settings } = settingsOf(url);
    let client = blobClients.get(base);
    if (client === undefined) {
      const target = azureTarget(settings, options.azure, env, () => (aad ??= createAzureAuth().credential));
      client = { store: createBlobStore(() => Promise.resolve(target.auth)), serviceUrl: target.serviceUrl };
      blobClients.set(base, client);
    }
    return { store: client.store, loc: { serviceUrl: client.serviceUrl, ...parseAzureUrl(url) } };
  };
  const isGs = (url: string): boolean => url.startsWith('gs://');
  const isAzure = (url: string): boolean => url.startsWith('azure://');
  const unsupported = (): never => {
    throw new ModelshipError('INVALID_ARGUMENT', 'Only uploads go through this DVC remote client.');
  };

  const same = (a: ReadonlyMap<string, string> | undefined, b: ReadonlyMap<string, string>): boolean =>
    a !== undefined && a.size === b.size && [...b].every(([k, v]) => a.get(k) === v);
  return {
    learn(remoteUrl, settings) {
      if (same(learnt.get(remoteUrl), settings)) return;
      // Another commit's .dvc/config may change the account or key: the next use builds the client again.
      learnt.set(remoteUrl, settings);
      gcsClients.delete(remoteUrl);
      blobClients.delete(remoteUrl);
    },
    file(url, signal) {
      const extra = signal === undefined ? {} : { signal };
      if (isGs(url)) return gcs(url).modelFile(parseGsUrl(url), extra);
      if (isAzure(url)) {
        const { store, loc } = blob(url);
        return store.modelFile(loc, extra);
      }
      return undefined;
    },
    sources(url) {
      if (!isGs(url) && !isAzure(url)) return undefined;
      return {
        download: unsupported,
        getBytes: unsupported,
        async put(target, body, _type, call) {
          if (isGs(target)) await gcs(target).upload(parseGsUrl(target), body, call?.signal);
          else {
            const { store, loc } = blob(target);
            await store.upload(loc, body, call?.signal);
          }
        },
      };
    },
  };
}
