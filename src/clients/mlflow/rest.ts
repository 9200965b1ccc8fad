import { ModelshipError, type ErrorCode } from '../../errors/index.js';
import type { HttpCall, HttpClient } from '../../platform/node/http-client.js';
import { statusError, withRetryAfter } from '../../platform/node/http-errors.js';

/** An MLflow error body: `{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "…"}`. */
export interface MlflowErrorBody {
  readonly error_code?: string;
  readonly message?: string;
}

/** A call to the REST API failed with this MLflow error; mapped to a modelship error by the caller's context. */
export class MlflowApiError extends Error {
  override readonly name = 'MlflowApiError';
  constructor(
    readonly status: number,
    readonly errorCode: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One REST call. `idempotent` calls are retried on 408, 429, 5xx and network errors; others (the default) only
 * when the connection was refused (nothing was sent). MLflow's own error answers (4xx) are never retried.
 */
export interface RestCall {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path under `/api/2.0/mlflow/`, e.g. `registered-models/alias`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: unknown;
  readonly idempotent?: boolean;
  readonly signal?: AbortSignal;
}

/** Sends REST API 2.0 calls to one tracking server. */
export type MlflowRest = <T>(call: RestCall) => Promise<T>;

/**
 * A REST client for `trackingUri` on the one HTTP client. Query values are percent-encoded (page tokens contain
 * `=`, which a real server answers with a 500 HTML page when raw); bodies are JSON with `Content-Type:
 * application/json`, which MLflow requires for POST, PATCH and DELETE. Failures: 401/403 → REGISTRY_AUTH_FAILED,
 * 408/429/5xx/network → REGISTRY_UNAVAILABLE (retryable), other MLflow errors → {@link MlflowApiError} for the
 * caller to map (final: the same request gets the same answer).
 */
export function createMlflowRest(trackingUri: string, http: HttpClient): MlflowRest {
  const base = `${trackingUri.replace(/\/+$/, '')}/api/2.0/mlflow/`;
  return async <T>(call: RestCall): Promise<T> => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(call.query ?? {})) if (v !== undefined) params.append(k, String(v));
    const qs = params.toString();
    const what = `calling MLflow ${call.method} ${call.path}`;
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    };
    const request: HttpCall = {
      method: call.method,
      url: `${base}${call.path}${qs === '' ? '' : `?${qs}`}`,
      headers,
      ...(body === undefined ? {} : { body }),
      what,
      signal: call.signal,
      idempotent: call.idempotent === true,
    };
    return http.send(request, (res): T => {
      if (res.status >= 200 && res.status < 300) {
        try {
          return (res.text.trim() === '' ? {} : JSON.parse(res.text)) as T;
        } catch (cause) {
          throw new ModelshipError(
            'REGISTRY_UNAVAILABLE',
            `MLflow sent a response that is not JSON while ${what}; is ${trackingUri} an MLflow server?`,
            { cause, retryable: false },
          );
        }
      }
      let parsed: MlflowErrorBody | undefined;
      try {
        parsed = JSON.parse(res.text) as MlflowErrorBody;
      } catch {
        parsed = undefined;
      }
      if (res.status === 401 || res.status === 403 || res.status >= 500 || res.status === 429 || res.status === 408) {
        throw withRetryAfter(statusError(res.status, what, 'MODEL_NOT_FOUND', parsed?.message ?? ''), res.retryAfterMs);
      }
      throw new MlflowApiError(res.status, parsed?.error_code, parsed?.message ?? `HTTP ${res.status}`);
    });
  };
}

/** Maps an MLflow API error to a modelship code chosen by the caller for 404s and "not found" 400s. */
export function apiError(
  error: MlflowApiError,
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
): ModelshipError {
  return new ModelshipError(code, `${message} (MLflow: ${error.errorCode ?? error.status}: ${error.message})`, {
    cause: error,
    ...(details === undefined ? {} : { details }),
  });
}
