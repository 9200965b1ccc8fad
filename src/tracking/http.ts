import { redactUrl } from '../core/redact.js';
import { ModelshipError } from '../errors/index.js';
import type { HttpClient, HttpReply } from '../platform/node/http-client.js';

/** One HTTP call made by a tracker transport. */
export interface TrackerRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** A JSON value (sent as application/json) or a raw body (a `Blob` is streamed). */
  readonly json?: unknown;
  readonly body?: string | Uint8Array | Blob;
  /** What the call does, for error messages ("creating run", "logging a batch"). */
  readonly what: string;
}

/** Sends tracker requests once each, turning failures into typed delivery errors for the spool flusher. */
export interface TrackerHttp {
  request<T = unknown>(request: TrackerRequest, signal?: AbortSignal): Promise<T>;
}

// Statuses a later attempt may get past. 401/403 are included: the records stay spooled until the credentials
// are fixed, rather than being dropped.
const RETRYABLE = new Set([401, 403, 408, 425, 429, 500, 502, 503, 504]);

function describe(body: unknown, text: string): { code?: string; message: string } {
  if (typeof body === 'object' && body !== null) {
    const b = body as Record<string, unknown>;
    if (typeof b.message === 'string')
      return { ...(typeof b.error_code === 'string' ? { code: b.error_code } : {}), message: b.message };
    if (typeof b.error === 'string') return { message: b.error };
    if (Array.isArray(b.errors))
      return { message: b.errors.map((e) => (e as { message?: string }).message ?? String(e)).join('; ') };
  }
  return { message: text.slice(0, 300) };
}

/** A reply as the tracker sees it: the body (JSON, else text) on 2xx; TRACKING_UNAVAILABLE or TRACKING_REJECTED otherwise. */
function accept<T>(reply: HttpReply, request: TrackerRequest): T {
  let parsed: unknown = undefined;
  try {
    parsed = reply.text.length === 0 ? {} : JSON.parse(reply.text);
  } catch {
    parsed = undefined;
  }
  if (reply.status >= 200 && reply.status < 300) return (parsed ?? reply.text) as T;
  const { code, message } = describe(parsed, reply.text);
  const details: Record<string, unknown> = {
    url: redactUrl(request.url),
    status: reply.status,
    ...(code === undefined ? {} : { serverCode: code }),
  };
  if (RETRYABLE.has(reply.status)) {
    const hint =
      reply.status === 401 || reply.status === 403
        ? ' Check the tracker credentials; records stay spooled until they are accepted.'
        : ' Will retry.';
    throw new ModelshipError(
      'TRACKING_UNAVAILABLE',
      `The tracking server answered ${reply.status} while ${request.what}: ${message}.${hint}`,
      {
        details: { ...details, ...(reply.retryAfterMs === undefined ? {} : { retryAfterMs: reply.retryAfterMs }) },
      },
    );
  }
  throw new ModelshipError(
    'TRACKING_REJECTED',
    `The tracking server refused ${request.what} (${reply.status}${code === undefined ? '' : ` ${code}`}): ${message}`,
    { details },
  );
}

/** Whether `error` (or its cause) is the HTTP client's idle timer firing. */
const timedOut = (error: unknown): boolean => (error as { code?: unknown } | null)?.code === 'IDLE_TIMEOUT';

/**
 * The tracker's view of a vendor's HTTP client (built with `retries: 0`): each request is sent once, because
 * the spool flusher is the retry loop (it retries transient failures forever, for durability). Auth headers
 * come with the client and are never logged; URLs in details are redacted.
 */
export function createTrackerHttp(http: HttpClient): TrackerHttp {
  const timeoutMs = http.config.timeoutMs;
  return {
    async request<T>(request: TrackerRequest, signal?: AbortSignal): Promise<T> {
      const headers: Record<string, string> = { ...request.headers };
      let body = request.body;
      if (request.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(request.json);
      }
      const call = {
        method: request.method,
        url: request.url,
        headers,
        ...(body === undefined ? {} : { body }),
        what: request.what,
        signal,
        limit: Number.POSITIVE_INFINITY,
        tolerateCutBody: true,
      };
      try {
        return await http.send(call, (reply) => accept<T>(reply, request));
      } catch (error) {
        if (ModelshipError.hasCode(error, 'TRACKING_UNAVAILABLE') || ModelshipError.hasCode(error, 'TRACKING_REJECTED'))
          throw error;
        // The client's network error wraps what fetch threw; say that, as the flusher reports it.
        const cause = ModelshipError.isInstance(error) && error.cause !== undefined ? error.cause : error;
        const why = timedOut(cause) ? `no answer within ${timeoutMs} ms` : (cause as Error)?.message;
        throw new ModelshipError(
          'TRACKING_UNAVAILABLE',
          `Could not reach the tracking server while ${request.what} (${why}); will retry.`,
          {
            cause,
            details: { url: redactUrl(request.url) },
          },
        );
      }
    },
  };
}
