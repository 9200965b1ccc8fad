import { parseRetryAfter } from './backoff.js';
import { ModelshipError } from '../errors/index.js';

/** A `fetch` implementation; the global one unless a client is given another (a proxy agent, a test double). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** One HTTP call made by a tracker transport. */
export interface TrackerRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** A JSON value (sent as application/json) or a raw body. */
  readonly json?: unknown;
  readonly body?: BodyInit;
  /** What the call does, for error messages ("creating run", "logging a batch"). */
  readonly what: string;
}

/** Sends tracker requests with a per-request timeout, turning failures into typed delivery errors. */
export interface TrackerHttp {
  request<T = unknown>(request: TrackerRequest, signal?: AbortSignal): Promise<T>;
}

// Statuses a later attempt may get past. 401/403 are included: the records stay spooled until the credentials
// are fixed, rather than being dropped.
const RETRYABLE = new Set([401, 403, 408, 425, 429, 500, 502, 503, 504]);

function describe(body: unknown, text: string): { code?: string; message: string } {
  if (typeof body === 'object' && body !== null) {
    const b = body as Record<string, unknown>;
    if (typeof b.message === 'string') return { ...(typeof b.error_code === 'string' ? { code: b.error_code } : {}), message: b.message };
    if (typeof b.error === 'string') return { message: b.error };
    if (Array.isArray(b.errors)) return { message: b.errors.map((e) => (e as { message?: string }).message ?? String(e)).join('; ') };
  }
  return { message: text.slice(0, 300) };
}

/** Creates the HTTP helper for one tracker. `auth` headers are added to every request and never logged. */
export function createTrackerHttp(fetchImpl: FetchLike, auth: Record<string, string>, timeoutMs: number): TrackerHttp {
  return {
    async request<T>(request: TrackerRequest, signal?: AbortSignal): Promise<T> {
      const timeout = AbortSignal.timeout(timeoutMs);
      const headers: Record<string, string> = { ...auth, ...request.headers };
      let body = request.body;
      if (request.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(request.json);
      }
      let response: Response;
      try {
        response = await fetchImpl(request.url, {
          method: request.method,
          headers,
          ...(body === undefined ? {} : { body }),
          signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
          // Needed by Node's fetch for a streamed (Blob-backed) upload body.
          ...(body !== undefined && typeof body !== 'string' ? { duplex: 'half' } : {}),
        } as RequestInit);
      } catch (error) {
        const why = timeout.aborted ? `no answer within ${timeoutMs} ms` : (error as Error).message;
        throw new ModelshipError('TRACKING_UNAVAILABLE', `Could not reach the tracking server while ${request.what} (${why}); will retry.`, {
          cause: error,
          details: { url: request.url },
        });
      }
      const text = await response.text().catch(() => '');
      let parsed: unknown = undefined;
      try {
        parsed = text.length === 0 ? {} : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (response.ok) return (parsed ?? text) as T;
      const { code, message } = describe(parsed, text);
      const details: Record<string, unknown> = { url: request.url, status: response.status, ...(code === undefined ? {} : { serverCode: code }) };
      if (RETRYABLE.has(response.status)) {
        const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
        const hint = response.status === 401 || response.status === 403 ? ' Check the tracker credentials; records stay spooled until they are accepted.' : ' Will retry.';
        throw new ModelshipError('TRACKING_UNAVAILABLE', `The tracking server answered ${response.status} while ${request.what}: ${message}.${hint}`, {
          details: { ...details, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
        });
      }
      throw new ModelshipError('TRACKING_REJECTED', `The tracking server refused ${request.what} (${response.status}${code === undefined ? '' : ` ${code}`}): ${message}`, {
        details,
      });
    },
  };
}
