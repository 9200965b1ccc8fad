import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, parseRetryAfter, type BackoffPolicy } from '../../core/backoff.js';
import { ModelshipError } from '../../errors/index.js';
import { isRetryable, networkError } from './http-errors.js';
import type { Transport, TransportRequest, TransportResponse } from './transport.js';

/** How an HTTP client behaves; shared by downloads and JSON APIs. */
export interface HttpClientConfig {
  readonly transport: Transport;
  /** Idle timeout (ms): connecting, waiting for headers, or a stalled body for this long fails the attempt. */
  readonly timeoutMs: number;
  /** Retries after the first attempt, for connection errors, timeouts, 408, 429 and 5xx. */
  readonly retries: number;
  readonly backoff: BackoffPolicy;
  /** Headers sent with every request (Authorization…). Never echoed in error messages. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** An exchange in flight with an idle timer; `touch()` on progress, `done()` when finished. */
export interface Exchange {
  readonly response: TransportResponse;
  readonly signal: AbortSignal;
  touch(): void;
  done(): void;
}

/** Thrown (as a reason) when the idle timer fires, so the failure reads as a timeout, not an abort. */
class IdleTimeout extends Error {
  override readonly name = 'TimeoutError';
  readonly code = 'IDLE_TIMEOUT';
}

/** An abort signal that fires when the caller's does, or after `timeoutMs` without `touch()`. */
export interface IdleTimer {
  readonly signal: AbortSignal;
  touch(): void;
  done(): void;
}

/** Starts an idle timer linked to `signal` (the caller's). */
export function idleTimer(timeoutMs: number, signal: AbortSignal | undefined): IdleTimer {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const touch = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new IdleTimeout(`no progress for ${timeoutMs} ms`)), timeoutMs);
  };
  touch();
  return {
    signal: controller.signal,
    touch,
    done: () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * Sends one request under an idle timer. The caller's `signal` aborting rejects with ABORTED; the timer firing
 * (no response or no body progress for `timeoutMs`) aborts the exchange with a timeout error.
 */
export async function open(config: HttpClientConfig, req: Omit<TransportRequest, 'signal'>, signal: AbortSignal | undefined, what: string): Promise<Exchange> {
  signal?.throwIfAborted();
  const timer = idleTimer(config.timeoutMs, signal);
  try {
    const response = await config.transport({ ...req, headers: { ...config.headers, ...req.headers }, signal: timer.signal });
    timer.touch();
    return { response, signal: timer.signal, touch: timer.touch, done: timer.done };
  } catch (error) {
    timer.done();
    throw failure(error, signal, what);
  }
}

/** Classifies an error thrown during an exchange: the caller's abort → ABORTED; modelship errors as they are. */
export function failure(error: unknown, signal: AbortSignal | undefined, what: string): ModelshipError {
  if (signal?.aborted) return new ModelshipError('ABORTED', `Aborted while ${what}.`, { cause: signal.reason });
  if (ModelshipError.isInstance(error)) return error;
  return networkError(error, what);
}

/**
 * Runs `attempt` until it succeeds, retrying transient failures ({@link isRetryable}: unavailable, a network
 * failure) with exponential backoff and jitter; any other error, an adapter's own included, is thrown at once.
 * `attempt` receives the retry number; a failure may carry `retryAfterMs` in its details (from `Retry-After`).
 * `madeProgress()` (optional) resets the budget, so a long download over a flaky link keeps going as long as
 * each try gets further.
 */
export async function withRetries<T>(
  config: Pick<HttpClientConfig, 'retries' | 'backoff'>,
  signal: AbortSignal | undefined,
  attempt: (n: number) => Promise<T>,
  madeProgress: () => boolean = () => false,
): Promise<T> {
  let failures = 0;
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (signal?.aborted || !isRetryable(error)) throw error;
      failures = madeProgress() ? 1 : failures + 1;
      if (failures > config.retries) throw error;
      const retryAfter = ModelshipError.isInstance(error) ? (error.details?.retryAfterMs as number | undefined) : undefined;
      try {
        await sleep(backoffDelay(failures - 1, config.backoff, retryAfter), undefined, { signal });
      } catch {
        throw new ModelshipError('ABORTED', 'Aborted while waiting to retry.', { cause: signal?.reason });
      }
    }
  }
}

/** `Retry-After` of a response in ms, if it sent one. */
export function retryAfterOf(response: TransportResponse): number | undefined {
  return parseRetryAfter(response.header('retry-after'));
}

/** Reads a whole (small) response body, keeping the exchange's idle timer alive. Refuses more than `limit` bytes. */
export async function readAll(exchange: Exchange, limit: number, what: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of exchange.response.body) {
    exchange.touch();
    size += chunk.byteLength;
    if (size > limit) {
      throw new ModelshipError('REGISTRY_UNAVAILABLE', `The response was larger than ${limit} bytes while ${what}.`, { retryable: false });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
