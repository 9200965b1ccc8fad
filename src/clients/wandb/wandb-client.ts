import { redactUrl } from '../../core/redact.js';
import { createHttpClient, type HttpClient, type HttpClientOptions } from '../../platform/node/http-client.js';
import { createWandbGraphql, type WandbGraphql } from './graphql.js';
import { wandbAuth } from './settings.js';

/** What {@link createWandbClient} takes: the server and key (options or environment, already chosen), and how to send. */
export interface WandbClientOptions extends Omit<HttpClientOptions, 'headers'> {
  /** The API server, e.g. `https://api.wandb.ai`. */
  readonly baseUrl: string;
  /** The API key; without one, requests carry no Authorization header. */
  readonly apiKey?: string | undefined;
}

/** One connection to a W&B server, shared by the registry adapter and the tracker. */
export interface WandbClient {
  /** The server, without a trailing slash. */
  readonly baseUrl: string;
  /** The server as messages and cache keys show it. */
  readonly publicUrl: string;
  /** The HTTP client, carrying the auth header. */
  readonly http: HttpClient;
  /** GraphQL operations (the registry's vocabulary: REGISTRY_* errors, {@link WandbGraphqlError}). */
  readonly graphql: WandbGraphql;
  /** The GraphQL endpoint. */
  readonly graphqlUrl: string;
  /** The file-stream endpoint of a run (history lines, summary, completion). */
  fileStreamUrl(entity: string, project: string, run: string): string;
}

/**
 * Connects to a W&B server: Basic `api:<key>` auth, one HTTP client with the retry policy, GraphQL and the
 * run file stream on top.
 *
 * @example
 * ```ts
 * const wandb = createWandbClient({ baseUrl: 'https://api.wandb.ai', apiKey, timeoutMs: 30_000, retries: 3, backoff: { baseMs: 250, maxMs: 10_000 } });
 * const data = await wandb.graphql('query Viewer { viewer { username } }', {});
 * ```
 */
export function createWandbClient(options: WandbClientOptions): WandbClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const http = createHttpClient({ ...options, headers: wandbAuth(options.apiKey) });
  const segment = encodeURIComponent;
  return {
    baseUrl,
    publicUrl: redactUrl(baseUrl).replace(/\/$/, ''),
    http,
    graphql: createWandbGraphql(baseUrl, http),
    graphqlUrl: `${baseUrl}/graphql`,
    fileStreamUrl: (entity, project, run) =>
      `${baseUrl}/files/${segment(entity)}/${segment(project)}/${segment(run)}/file_stream`,
  };
}
