import { createGcpAuth, type GcpAuth } from '../../clients/gcp/gcp-auth.js';
import { locationFromEnv, projectFromEnv, type GcpOptions } from '../../clients/gcp/gcp-settings.js';
import { createGcs, type Gcs } from '../../clients/gcp/gcs.js';
import { createGoogleRest, GoogleApiError, type GoogleRest } from '../../clients/gcp/google-rest.js';
import { ModelshipError } from '../../errors/index.js';
import { createHttpClient } from '../../platform/node/http-client.js';
import type { RemoteOptions } from '../kit/remote-options.js';
import { httpClientSettings } from '../kit/remote-store.js';
import type { VertexModelJson } from './model-json.js';
import type { VertexRef } from './ref.js';

/** The Vertex AI Model Registry calls the adapter makes, with its project, location and credentials. */
export interface VertexApi {
  readonly rest: GoogleRest;
  readonly gcs: Gcs;
  readonly auth: GcpAuth;
  readonly location: string;
  readonly apiRoot: string;
  /** `projects/<p>/locations/<l>` for a reference (its own, else the registry's). */
  parent(r?: Pick<VertexRef, 'project' | 'location'>): Promise<string>;
  /** models.get on `name` (`…/models/<id>`, optionally `@<version|alias>`); GoogleApiError 404 when absent. */
  get(name: string, signal?: AbortSignal): Promise<VertexModelJson>;
  /** models.listVersions, every page. */
  listVersions(name: string, signal?: AbortSignal): Promise<VertexModelJson[]>;
  /** MODEL_NOT_FOUND when `name` (no suffix) does not exist, else undefined. */
  modelMissing(name: string, signal?: AbortSignal): Promise<ModelshipError | undefined>;
}

export const isNotFound = (e: unknown): boolean => e instanceof GoogleApiError && e.status === 404;

/** Connects to Vertex AI and Cloud Storage with the registry's settings. */
export function createVertexApi(options: GcpOptions & RemoteOptions): VertexApi {
  const location = locationFromEnv(options);
  const apiRoot = (options.apiEndpoint ?? `https://${location}-aiplatform.googleapis.com`).replace(/\/+$/, '');
  const http = createHttpClient(httpClientSettings(options));
  const auth = createGcpAuth(options);
  const rest = createGoogleRest(http, auth, 'Vertex AI');
  const gcs = createGcs(
    createGoogleRest(http, auth, 'Cloud Storage'),
    auth,
    options.storageEndpoint ?? 'https://storage.googleapis.com',
  );
  let project: Promise<string> | undefined;
  const defaultProject = (): Promise<string> => {
    project ??= (async () => {
      const p = projectFromEnv(options) ?? (await auth.projectId());
      if (p === undefined)
        throw new ModelshipError(
          'INVALID_OPTIONS',
          'No Google Cloud project: pass { project }, set GOOGLE_CLOUD_PROJECT, or use credentials that name one.',
        );
      return p;
    })();
    project.catch(() => (project = undefined));
    return project;
  };
  const api: VertexApi = {
    rest,
    gcs,
    auth,
    location,
    apiRoot,
    async parent(r) {
      return `projects/${r?.project ?? (await defaultProject())}/locations/${r?.location ?? location}`;
    },
    get: (name, signal) =>
      rest<VertexModelJson>({
        method: 'GET',
        url: `${apiRoot}/v1/${name}`,
        idempotent: true,
        what: 'getting a model',
        signal,
      }),
    async listVersions(name, signal) {
      const all: VertexModelJson[] = [];
      const seen = new Set<string>();
      let token: string | undefined;
      do {
        const q = new URLSearchParams({ pageSize: '100', ...(token === undefined ? {} : { pageToken: token }) });
        const page = await rest<{ models?: VertexModelJson[]; nextPageToken?: string }>({
          method: 'GET',
          url: `${apiRoot}/v1/${name}:listVersions?${q.toString()}`,
          idempotent: true,
          what: 'listing model versions',
          signal,
        });
        all.push(...(page.models ?? []));
        const next = page.nextPageToken || undefined;
        // A server repeating a token would page forever: stop with an error instead.
        if (next !== undefined && (next === token || seen.has(next)))
          throw new ModelshipError(
            'REGISTRY_UNAVAILABLE',
            'Vertex AI repeated a page token while listing model versions.',
            {
              retryable: false,
            },
          );
        if (next !== undefined) seen.add(next);
        token = next;
      } while (token !== undefined);
      return all.sort((a, b) => Number(a.versionId) - Number(b.versionId));
    },
    async modelMissing(name, signal) {
      try {
        await api.get(name, signal);
        return undefined;
      } catch (error) {
        if (!isNotFound(error)) throw error;
        const id = name.split('/').pop() ?? name;
        return new ModelshipError(
          'MODEL_NOT_FOUND',
          `Vertex AI has no model ${JSON.stringify(id)} in ${name.split('/models/')[0]}.`,
          {
            cause: error,
            details: { name: id },
          },
        );
      }
    },
  };
  return api;
}
