import { ModelshipError } from '../errors/index.js';

/**
 * An HTTP request as the handler's core reads it (`handler.dispatch`). Every adapter builds one from its
 * platform's request: the fetch adapter from a `Request` (`http/fetch-adapter.ts`), the node:http server and
 * the Express middleware straight from `IncomingMessage`, which spares every request a WHATWG `Request`, its
 * header copy and its body stream (a fifth of the CPU a small prediction costs).
 *
 * @example
 * ```ts
 * // An adapter for a platform of your own: build the request, dispatch it, write the answer back.
 * const inbound: InboundRequest = { method: 'GET', path: '/healthz', header: () => null, bytes: async () => new Uint8Array(0), signal: undefined };
 * const answer = (await handler.dispatch(inbound)) ?? handler.notFound(inbound);
 * reply(answer.status, answer.headers, answer.body);
 * ```
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

/**
 * What the handler's core answers: a status, headers (names in lower case) and a body: text (JSON) for most
 * routes, bytes for binary answers (the OIP binary data extension, compressed answers).
 */
export interface OutboundResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Uint8Array<ArrayBuffer>;
}

/** The 413 every body reader raises. */
export function payloadTooLarge(limit: number): ModelshipError {
  return new ModelshipError(
    'PAYLOAD_TOO_LARGE',
    `The request body is larger than the limit of ${limit} bytes; send fewer rows per request or raise maxBodyBytes.`,
    { details: { limit } },
  );
}

/**
 * The handler's core, which every adapter (fetch, node:http, Express) drives the same way: build an
 * {@link InboundRequest}, `dispatch` it, write the {@link OutboundResponse} back; a path the handler does not
 * serve resolves `undefined`, and the adapter passes it on (to `next()`, a fallback) or answers `notFound`.
 */
export interface HandlerCore {
  /** Answers a request, or resolves `undefined` for a path the handler does not serve. Never rejects. */
  dispatch(request: InboundRequest): Promise<OutboundResponse | undefined>;
  /** The handler's 404 (`ROUTE_NOT_FOUND`) for a path it does not serve; it never reads the body. */
  notFound(request: InboundRequest): OutboundResponse;
}
