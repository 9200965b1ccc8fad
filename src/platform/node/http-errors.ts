import { redactUrl } from '../../core/redact.js';
import { ModelshipError, type ErrorCode } from '../../errors/index.js';

/** What failed, for messages: `downloading https://host/model.onnx`. Never contains a query string. */
export function describe(action: string, url: string): string {
  return `${action} ${redactUrl(url)}`;
}

/**
 * The typed error for an unexpected HTTP status. 401/403 → REGISTRY_AUTH_FAILED, 404 → `notFound`,
 * 408/429/5xx → REGISTRY_UNAVAILABLE (retryable), anything else → REGISTRY_UNAVAILABLE, not retryable.
 */
export function statusError(status: number, what: string, notFound: ErrorCode = 'MODEL_NOT_FOUND', detail = ''): ModelshipError {
  const suffix = detail === '' ? '' : `: ${detail}`;
  const details = { status };
  if (status === 401 || status === 403) {
    return new ModelshipError(
      'REGISTRY_AUTH_FAILED',
      `The server refused the credentials (HTTP ${status}) while ${what}${suffix}. Check the token or password (for MLflow: MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD).`,
      { details },
    );
  }
  if (status === 404) return new ModelshipError(notFound, `Not found (HTTP 404) while ${what}${suffix}.`, { details });
  if (status === 408 || status === 429 || status >= 500) {
    return new ModelshipError('REGISTRY_UNAVAILABLE', `The server answered HTTP ${status} while ${what}${suffix}. Retry later.`, { details });
  }
  return new ModelshipError('REGISTRY_UNAVAILABLE', `Unexpected HTTP ${status} while ${what}${suffix}.`, { details, retryable: false });
}

/** REGISTRY_UNAVAILABLE for a network failure (refused, reset, DNS, timeout), keeping the cause for logs. */
export function networkError(cause: unknown, what: string): ModelshipError {
  const code = (cause as { code?: unknown; cause?: { code?: unknown } } | null)?.code ?? (cause as { cause?: { code?: unknown } } | null)?.cause?.code;
  const why = typeof code === 'string' ? code : cause instanceof Error ? cause.name : 'network error';
  return new ModelshipError('REGISTRY_UNAVAILABLE', `Could not reach the server while ${what} (${why}). Retry later; cached models keep serving meanwhile.`, { cause });
}

/** True for errors worth retrying: network failures and REGISTRY_UNAVAILABLE marked retryable. */
export function isRetryable(error: unknown): boolean {
  return ModelshipError.isInstance(error) ? error.code === 'REGISTRY_UNAVAILABLE' && error.retryable : true;
}

/** Whether the connection was refused, i.e. the request never reached the server (safe to resend a mutation). */
export function connectionRefused(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === 'ECONNREFUSED') return true;
  }
  return false;
}
