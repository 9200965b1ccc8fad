import { parseRetryAfter } from '../../core/backoff.js';
import { ModelshipError } from '../../errors/index.js';

/** The fields of an `@google-cloud/storage` failure (an `ApiError`, a `RequestError`, a socket error) read here. */
export interface GcsFailure {
  /** The HTTP status for API errors; a string for the SDK's own (`CONTENT_DOWNLOAD_MISMATCH`) and socket errors. */
  readonly code?: number | string;
  readonly name?: string;
  /** The JSON API's `error.errors[]`, whose `reason` is `notFound`, `forbidden`, `rateLimitExceeded`… */
  readonly errors?: readonly { readonly reason?: string }[];
  /** The HTTP response of an `ApiError` (its `Retry-After`). */
  readonly response?: { readonly headers?: Record<string, string | string[] | undefined> };
}

/**
 * Maps an `@google-cloud/storage` failure while `what` on `object` to a modelship error: 404 → MODEL_NOT_FOUND, 401/403
 * → REGISTRY_AUTH_FAILED, 412 → INTEGRITY_MISMATCH (the object changed), 408/429/5xx and lost connections →
 * REGISTRY_UNAVAILABLE (retryable, after the SDK's own retries). Neither the SDK's message (it may quote the
 * response body) nor a token or a URL with a query appears; `object` is the `gs://` name the caller gave.
 */
export function gcsError(cause: GcsFailure | null | undefined, object: string, what: string): ModelshipError {
  if (ModelshipError.isInstance(cause)) return cause;
  const status = typeof cause?.code === 'number' ? cause.code : undefined;
  const reason = cause?.errors?.[0]?.reason;
  const said = reason === undefined ? '' : ` ${reason}`;
  if (status === 404)
    return new ModelshipError(
      'MODEL_NOT_FOUND',
      `Cloud Storage has no ${object} (or no such bucket) while ${what}. Check the gs:// URL or the model's artifactUri.`,
      { cause, details: { status } },
    );
  if (status === 401 || status === 403)
    return new ModelshipError(
      'REGISTRY_AUTH_FAILED',
      `Cloud Storage refused the credentials (HTTP ${status}${said}) while ${what} for ${object}. Check the service account's roles (roles/storage.objectViewer to read, roles/storage.objectCreator to publish) and GOOGLE_APPLICATION_CREDENTIALS.`,
      { cause, details: { status } },
    );
  if (status === 412)
    return new ModelshipError('INTEGRITY_MISMATCH', `${object} changed while ${what}; retry.`, {
      cause,
      details: { status },
    });
  if (cause?.name === 'AbortError') return new ModelshipError('ABORTED', `Aborted while ${what}.`, { cause });
  const network = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
  const retryable = status === undefined || status === 408 || status === 429 || status >= 500;
  const after = cause?.response?.headers?.['retry-after'];
  const retryAfterMs = parseRetryAfter(Array.isArray(after) ? after[0] : after);
  return new ModelshipError(
    'REGISTRY_UNAVAILABLE',
    status === undefined
      ? `Could not reach Cloud Storage${network} while ${what} for ${object}. Retry later.`
      : `Cloud Storage answered HTTP ${status}${said} while ${what} for ${object}.${retryable ? ' Retry later.' : ''}`,
    {
      cause,
      retryable,
      ...(status === undefined ? {} : { details: { status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) } }),
    },
  );
}
