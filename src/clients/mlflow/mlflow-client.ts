import { redactUrl } from '../../core/redact.js';
import { createHttpClient, type HttpClient, type HttpClientOptions } from '../../platform/node/http-client.js';
import { mlflowAuth, type MlflowCredentials } from './auth.js';
import { createMlflowRest, type MlflowRest } from './rest.js';

/** What {@link createMlflowClient} takes: the server, explicit credentials, and how to send (fetch or dispatcher, timeout, retries). */
export interface MlflowClientOptions extends MlflowCredentials, Omit<HttpClientOptions, 'headers'> {
  /** The tracking server (options or `MLFLOW_TRACKING_URI`, already chosen); credentials in it become a header. */
  readonly trackingUri: string;
  /** Where `MLFLOW_TRACKING_*` credentials are read from (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
}

/** One connection to an MLflow tracking server, shared by the registry adapter and the tracker. */
export interface MlflowClient {
  /** The server without credentials: where requests go. */
  readonly trackingUri: string;
  /** The server as messages and cache keys show it (no credentials, no query, no trailing slash). */
  readonly publicUri: string;
  /** The Authorization header (or none), for requests to the server's artifact proxy made elsewhere. */
  readonly auth: Record<string, string>;
  /** The HTTP client, carrying the auth header. */
  readonly http: HttpClient;
  /** REST API 2.0 calls under `/api/2.0/mlflow/` (the registry's vocabulary: REGISTRY_* errors, {@link MlflowApiError}). */
  readonly rest: MlflowRest;
  /** The URL of a REST API 2.0 path, e.g. `runs/log-batch`. */
  apiUrl(path: string): string;
}

/**
 * Connects to an MLflow tracking server: credentials resolved once (see {@link mlflowAuth}), one HTTP client with
 * the retry policy, the REST calls on top.
 *
 * @example
 * ```ts
 * const mlflow = createMlflowClient({ trackingUri: 'http://127.0.0.1:5000', timeoutMs: 30_000, retries: 3, backoff: { baseMs: 250, maxMs: 10_000 } });
 * const { registered_model } = await mlflow.rest({ method: 'GET', path: 'registered-models/get', query: { name: 'mnist' }, idempotent: true });
 * ```
 */
export function createMlflowClient(options: MlflowClientOptions): MlflowClient {
  const { uri: trackingUri, headers: auth } = mlflowAuth(options.trackingUri, options, options.env);
  const http = createHttpClient({ ...options, headers: auth });
  const base = `${trackingUri}/api/2.0/mlflow/`;
  return {
    trackingUri,
    publicUri: redactUrl(trackingUri).replace(/\/$/, ''),
    auth,
    http,
    rest: createMlflowRest(trackingUri, http),
    apiUrl: (path) => `${base}${path}`,
  };
}
