import { redactUrl } from '../../core/redact.js';
import { causeChain, ModelshipError, type ErrorCode } from '../../errors/index.js';

/** What failed, for messages: `downloading https://host/model.onnx`. Never contains a query string. */
export function describe(action: string, url: string): string {
  return `${action} ${redactUrl(url)}`;
}

/**
 * The typed error for an unexpected HTTP status. 401/403 → REGISTRY_AUTH_FAILED, 404 → `notFound`,
 * 408/429/5xx → REGISTRY_UNAVAILABLE (retryable), anything else → REGISTRY_UNAVAILABLE, not retryable.
 */
export function statusError(
  status: number,
  what: string,
  notFound: ErrorCode = 'MODEL_NOT_FOUND',
  detail = '',
): ModelshipError {
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
    return new ModelshipError(
      'REGISTRY_UNAVAILABLE',
      `The server answered HTTP ${status} while ${what}${suffix}. Retry later.`,
      { details },
    );
  }
  return new ModelshipError('REGISTRY_UNAVAILABLE', `Unexpected HTTP ${status} while ${what}${suffix}.`, {
    details,
    retryable: false,
  });
}

/**
 * A 2xx answer's JSON body (`{}` when it is empty); a body that is not JSON is REGISTRY_UNAVAILABLE, not retryable,
 * naming `service` and `what`. Shared by the cloud REST clients (ARM, Google).
 */
export function parseJsonReply<T>(text: string, service: string, what: string): T {
  try {
    return (text.trim() === '' ? {} : JSON.parse(text)) as T;
  } catch (cause) {
    throw new ModelshipError('REGISTRY_UNAVAILABLE', `${service} sent a response that is not JSON while ${what}.`, {
      cause,
      retryable: false,
    });
  }
}

/** `error` with the server's `Retry-After` (ms) in its details, for the retry loop to honour; as it is without one. */
export function withRetryAfter(error: ModelshipError, retryAfterMs: number | undefined): ModelshipError {
  if (retryAfterMs === undefined) return error;
  return new ModelshipError(error.code, error.message, {
    details: { ...error.details, retryAfterMs },
    retryable: error.retryable,
  });
}

/**
 * REGISTRY_UNAVAILABLE for a network failure (refused, reset, DNS, timeout), keeping the cause for logs. A cause
 * that is a programming error (a TypeError other than `fetch failed` over a network cause, an invalid argument)
 * is not retryable: the same call would fail the same way.
 */
export function networkError(cause: unknown, what: string): ModelshipError {
  const code =
    (cause as { code?: unknown; cause?: { code?: unknown } } | null)?.code ??
    (cause as { cause?: { code?: unknown } } | null)?.cause?.code;
  const why = typeof code === 'string' ? code : cause instanceof Error ? cause.name : 'network error';
  return new ModelshipError(
    'REGISTRY_UNAVAILABLE',
    `Could not reach the server while ${what} (${why}). Retry later; cached models keep serving meanwhile.`,
    {
      cause,
      retryable: !isProgrammingError(cause),
    },
  );
}

/** Codes of modelship's own errors that mean "the other side is unavailable right now". */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'REGISTRY_UNAVAILABLE',
  'UPSTREAM_UNAVAILABLE',
  'TRACKING_UNAVAILABLE',
]);

/**
 * Node and undici error codes of failures that another try may not meet: the connection refused, reset or cut,
 * a DNS lookup failing (resolvers flap in clusters), a timeout, and the idle timer of http-client.ts.
 */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'IDLE_TIMEOUT',
]);

/** Codes of errors the caller made: the same call fails the same way however often it is sent. */
const ARGUMENT_CODES = /^(?:UND_ERR_INVALID_ARG|UND_ERR_NOT_SUPPORTED|ERR_INVALID_)/;

/** Whether `error` (or what caused it) is recognisably a network failure or timeout worth another try. */
export function isNetworkFailure(error: unknown): boolean {
  for (const e of causeChain(error)) {
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  }
  return false;
}

function isProgrammingError(error: unknown): boolean {
  if (isNetworkFailure(error)) return false;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && ARGUMENT_CODES.test(code)) return true;
  return (
    error instanceof TypeError ||
    error instanceof RangeError ||
    error instanceof ReferenceError ||
    error instanceof SyntaxError
  );
}

/**
 * Whether `withRetries` tries again. Only what is known to be transient: a modelship error saying the other side
 * is unavailable and marked retryable (408, 429, 5xx, a network failure), or a raw network failure. Anything else
 * is final — an adapter's own answer (W&B `errors[]`, an AWS ValidationException, an MLflow 4xx) or a programming
 * error — because sending the same request again gets the same answer, only later.
 */
export function isRetryable(error: unknown): boolean {
  if (ModelshipError.isInstance(error)) return error.retryable && TRANSIENT_CODES.has(error.code);
  return isNetworkFailure(error);
}

/** Whether the connection was refused, i.e. the request never reached the server (safe to resend a mutation). */
export function connectionRefused(error: unknown): boolean {
  for (const e of causeChain(error)) if (e.code === 'ECONNREFUSED') return true;
  return false;
}
