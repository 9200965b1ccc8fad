import { concatBytes } from '../core/bytes.js';
import { ModelshipError } from '../errors/index.js';

/**
 * The parts of an HTTP request the routes read. The fetch-style handler builds it from a `Request`; the
 * node:http server and the Express middleware build it straight from `IncomingMessage`, which spares every
 * request a WHATWG `Request`, its header copy and its body stream (a fifth of the CPU a small prediction costs).
 */
export interface InboundRequest {
  readonly method: string;
  /** The URL path as sent (still percent-encoded, no query string). */
  readonly path: string;
  /** A header value (name in lower case), or null. */
  header(name: string): string | null;
  /** The body, refused with `PAYLOAD_TOO_LARGE` as soon as it passes `limit` bytes. */
  bytes(limit: number): Promise<Uint8Array>;
  /** Fires when the client goes away before the answer is sent. */
  readonly signal: AbortSignal | undefined;
}

/** What routes answer: a status, headers and a (JSON) text body. */
export interface OutboundResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The 413 every body reader raises. */
export function payloadTooLarge(limit: number): ModelshipError {
  return new ModelshipError(
    'PAYLOAD_TOO_LARGE',
    `The request body is larger than the limit of ${limit} bytes; send fewer rows per request or raise maxBodyBytes.`,
    { details: { limit } },
  );
}

/** Adapts a fetch `Request`. */
export function fromFetchRequest(request: Request): InboundRequest {
  const url = new URL(request.url);
  return {
    method: request.method.toUpperCase(),
    path: url.pathname,
    header: (name) => request.headers.get(name),
    signal: request.signal,
    async bytes(limit) {
      const body = request.body;
      if (body === null) return new Uint8Array(0);
      const reader = body.getReader();
      const chunks: Uint8Array[] = [];
      let total = 0;
      for (;;) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
        } catch (cause) {
          // The stream of a request body fails when its client goes away: the client's doing, not a fault here.
          throw new ModelshipError('ABORTED', 'The client closed the connection before the request body was complete.', { cause });
        }
        const { done, value } = next;
        if (done) break;
        total += value.byteLength;
        if (total > limit) {
          await reader.cancel().catch(() => undefined);
          throw payloadTooLarge(limit);
        }
        chunks.push(value);
      }
      return concatBytes(chunks, total);
    },
  };
}

/** Turns an answer into a fetch `Response`. */
export function toFetchResponse(response: OutboundResponse): Response {
  return new Response(response.body, { status: response.status, headers: response.headers });
}
