import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { backoffDelay, parseRetryAfter, type BackoffPolicy } from '../../core/backoff.js';
import type { FetchLike } from '../../core/fetch-like.js';
import { ModelshipError } from '../../errors/index.js';
import { connectionRefused, isRetryable, networkError } from './http-errors.js';
import { transportFor, type Transport, type TransportRequest, type TransportResponse } from './transport.js';

/** How an HTTP client behaves; shared by downloads and JSON APIs (see {@link createHttpClient}). */
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
export async function open(
  config: HttpClientConfig,
  req: Omit<TransportRequest, 'signal'>,
  signal: AbortSignal | undefined,
  what: string,
): Promise<Exchange> {
  signal?.throwIfAborted();
  const timer = idleTimer(config.timeoutMs, signal);
  try {
    const response = await config.transport({
      ...req,
      headers: { ...config.headers, ...req.headers },
      signal: timer.signal,
    });
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
      const retryAfter = ModelshipError.isInstance(error)
        ? (error.details?.retryAfterMs as number | undefined)
        : undefined;
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
      throw new ModelshipError('REGISTRY_UNAVAILABLE', `The response was larger than ${limit} bytes while ${what}.`, {
        retryable: false,
      });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** What {@link createHttpClient} is built from. */
export interface HttpClientOptions {
  /** A transport already chosen (wins over `fetch` and `dispatcher`). */
  readonly transport?: Transport | undefined;
  /** An injected `fetch` (a proxying wrapper, a test double); wins over `dispatcher`. */
  readonly fetch?: FetchLike | undefined;
  /** An undici dispatcher (connection pool, `ProxyAgent`, `MockAgent`); default: a shared keep-alive agent. */
  readonly dispatcher?: Dispatcher | undefined;
  /** Idle timeout (ms) of each attempt. */
  readonly timeoutMs: number;
  /** Retries after the first attempt, for transient failures only ({@link isRetryable}); 0 for callers that loop themselves. */
  readonly retries: number;
  readonly backoff: BackoffPolicy;
  /** Headers sent with every request (Authorization…). Never echoed in error messages. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/** One request through the client. */
export interface HttpCall {
  readonly method: TransportRequest['method'];
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: TransportRequest['body'];
  /** What the call does, for error messages ("calling MLflow GET runs/get"); never holds a credential. */
  readonly what: string;
  readonly signal?: AbortSignal | undefined;
  /** false: a create or mutation, sent again only when the connection was refused (nothing reached the server). */
  readonly idempotent?: boolean;
  /** Largest response body read, in bytes (default 64 MiB). */
  readonly limit?: number;
  /** A response body cut short reads as empty instead of failing (the tracker: a 2xx was applied; resending duplicates). */
  readonly tolerateCutBody?: boolean;
}

/** A response read whole. */
export interface HttpReply {
  readonly status: number;
  /** A response header (case-insensitive), or `undefined`. */
  header(name: string): string | undefined;
  readonly text: string;
  /** The `Retry-After` it carried, in ms. */
  readonly retryAfterMs: number | undefined;
}

/** The one HTTP client: JSON APIs of every vendor (MLflow REST, W&B GraphQL, trackers) go through it. */
export interface HttpClient {
  readonly config: HttpClientConfig;
  /**
   * Sends `call` under the retry policy. `accept` turns each reply into the result or throws: a vendor's own
   * answer (final), or a retryable modelship error (tried again, honouring its `retryAfterMs`).
   */
  send<T>(call: HttpCall, accept: (reply: HttpReply) => T): Promise<T>;
}

const RESPONSE_LIMIT = 64 * 1024 * 1024;
const decoder = new TextDecoder();

/**
 * A failure of a call that must not be sent twice: final, unless the connection was refused (the request never
 * reached the server, so resending cannot apply it twice).
 */
export function notResent(error: unknown): unknown {
  if (!ModelshipError.isInstance(error) || !error.retryable || connectionRefused(error)) return error;
  return new ModelshipError(error.code, error.message, {
    cause: error.cause,
    details: error.details,
    retryable: false,
  });
}

async function sendOnce<T>(config: HttpClientConfig, call: HttpCall, accept: (reply: HttpReply) => T): Promise<T> {
  const request = {
    url: call.url,
    method: call.method,
    headers: call.headers ?? {},
    ...(call.body === undefined ? {} : { body: call.body }),
  };
  const exchange = await open(config, request, call.signal, call.what);
  let reply: HttpReply;
  try {
    const res = exchange.response;
    let bytes: Uint8Array;
    try {
      bytes = await readAll(exchange, call.limit ?? RESPONSE_LIMIT, call.what);
    } catch (error) {
      if (call.tolerateCutBody !== true) throw error;
      bytes = new Uint8Array();
    }
    reply = { status: res.status, header: res.header, text: decoder.decode(bytes), retryAfterMs: retryAfterOf(res) };
  } catch (error) {
    throw failure(error, call.signal, call.what);
  } finally {
    exchange.done();
  }
  // Outside the exchange's error mapping: what `accept` throws is the vendor's answer, passed on as it is.
  return accept(reply);
}

/**
 * Creates the one HTTP client: an injected `fetch` or undici (with an optional dispatcher), an idle timeout per
 * attempt, one retry policy (transient failures only, exponential backoff with jitter, `Retry-After` honoured),
 * network failures mapped by `networkError`, URLs in messages redacted by `describe`.
 *
 * @example
 * ```ts
 * const http = createHttpClient({ timeoutMs: 30_000, retries: 3, backoff: { baseMs: 250, maxMs: 10_000 } });
 * const status = await http.send({ method: 'GET', url: 'https://example.com/health', what: 'checking health' }, (r) => r.status);
 * ```
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const config: HttpClientConfig = {
    transport: options.transport ?? transportFor(options),
    timeoutMs: options.timeoutMs,
    retries: options.retries,
    backoff: options.backoff,
    ...(options.headers === undefined ? {} : { headers: options.headers }),
  };
  return {
    config,
    send: <T>(call: HttpCall, accept: (reply: HttpReply) => T): Promise<T> =>
      withRetries(config, call.signal, async () => {
        try {
          return await sendOnce(config, call, accept);
        } catch (error) {
          throw call.idempotent === false ? notResent(error) : error;
        }
      }),
  };
}
