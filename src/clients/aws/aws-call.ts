import { ModelshipError, type ErrorCode } from '../../errors/index.js';
import { failure, idleTimer, withRetries, type HttpClientConfig } from '../../platform/node/http-client.js';
import { networkError } from '../../platform/node/http-errors.js';

/** An AWS service error as the SDK throws it. */
interface AwsError {
  readonly name?: string;
  readonly message?: string;
  readonly $fault?: 'client' | 'server';
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/** Whether SageMaker said the thing does not exist (it uses ValidationException for most of these). */
export function isAwsNotFound(error: unknown): boolean {
  const e = error as AwsError;
  return (
    e?.name === 'ResourceNotFound' ||
    e?.name === 'ResourceNotFoundException' ||
    (e?.name === 'ValidationException' && /does not exist|not found|cannot be found/i.test(e.message ?? ''))
  );
}

/**
 * Maps an SDK error: not found → `notFound` (when given), credentials → REGISTRY_AUTH_FAILED, throttling, 5xx and
 * network → REGISTRY_UNAVAILABLE (retryable), other client errors → REGISTRY_UNAVAILABLE, not retryable.
 */
export function awsError(
  error: unknown,
  what: string,
  notFound?: { code: ErrorCode; message: string; details?: Record<string, unknown> },
): ModelshipError {
  if (ModelshipError.isInstance(error)) return error;
  const e = error as AwsError;
  const name = e?.name ?? '';
  const status = e?.$metadata?.httpStatusCode;
  if (notFound !== undefined && isAwsNotFound(error)) {
    return new ModelshipError(notFound.code, `${notFound.message} (SageMaker: ${name}: ${e.message ?? ''})`, {
      cause: error,
      ...(notFound.details === undefined ? {} : { details: notFound.details }),
    });
  }
  if (
    /AccessDenied|UnrecognizedClient|InvalidSignature|ExpiredToken|InvalidClientTokenId|MissingAuthenticationToken|CredentialsProvider|SignatureDoesNotMatch/.test(
      name,
    ) ||
    status === 401 ||
    status === 403
  ) {
    return new ModelshipError(
      'REGISTRY_AUTH_FAILED',
      `SageMaker refused the credentials (${name || `HTTP ${status}`}) while ${what}. Check the AWS credential chain (AWS_ACCESS_KEY_ID, AWS_PROFILE…) and the IAM policy.`,
      { cause: error },
    );
  }
  if (
    /Throttling|TooManyRequests|ServiceUnavailable|InternalFailure|InternalServer/.test(name) ||
    (status !== undefined && (status >= 500 || status === 429))
  ) {
    return new ModelshipError(
      'REGISTRY_UNAVAILABLE',
      `SageMaker answered ${name || `HTTP ${status}`} while ${what}. Retry later.`,
      { cause: error },
    );
  }
  if (status !== undefined || e?.$fault !== undefined) {
    return new ModelshipError(
      'REGISTRY_UNAVAILABLE',
      `SageMaker refused the request (${name}: ${e.message ?? ''}) while ${what}.`,
      { cause: error, retryable: false },
    );
  }
  return networkError(error, what);
}

/** Sends SDK commands under modelship's timeout and retry policy (the SDK's own retries are off). */
export type AwsCall = <T>(
  what: string,
  send: (abortSignal: AbortSignal) => Promise<T>,
  options?: { signal?: AbortSignal | undefined; idempotent?: boolean },
) => Promise<T>;

/**
 * The one wrapper around AWS SDK calls: an idle timeout per attempt, the platform retry policy (transient
 * failures only; `idempotent: false` sends once), and SDK errors mapped by {@link awsError}. Create SDK clients
 * with `maxAttempts: 1` so retries are not multiplied.
 *
 * @example
 * ```ts
 * const call = createAwsCall({ timeoutMs: 30_000, retries: 3, backoff: { baseMs: 250, maxMs: 10_000 } });
 * const group = await call('describing the group', (abortSignal) => client.send(command, { abortSignal }));
 * ```
 */
export function createAwsCall(config: Pick<HttpClientConfig, 'timeoutMs' | 'retries' | 'backoff'>): AwsCall {
  return async <T>(
    what: string,
    send: (abortSignal: AbortSignal) => Promise<T>,
    options: { signal?: AbortSignal | undefined; idempotent?: boolean } = {},
  ): Promise<T> => {
    const retry = options.idempotent === false ? { ...config, retries: 0 } : config;
    return withRetries(retry, options.signal, async () => {
      const timer = idleTimer(config.timeoutMs, options.signal);
      try {
        return await send(timer.signal);
      } catch (error) {
        if (options.signal?.aborted) throw failure(error, options.signal, what);
        // Mapped by the caller, which knows what was missing. Raw, it is final: withRetries retries only network failures.
        if (isAwsNotFound(error)) throw error;
        throw awsError(error, what);
      } finally {
        timer.done();
      }
    });
  };
}
