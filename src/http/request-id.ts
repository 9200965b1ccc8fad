import type { InboundRequest, OutboundResponse } from './exchange.js';

/** The header a request is named by: honoured when the client sends one, made up otherwise, on every answer. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Printable ASCII without spaces, at most 128 characters: anything else is replaced rather than echoed or stored. */
const VALID = /^[\x21-\x7e]{1,128}$/;

/** A random per-process prefix and a counter: unique within the process, and unlikely to meet another's. */
const PREFIX = `${Math.floor(Math.random() * 2 ** 48)
  .toString(16)
  .padStart(12, '0')}-`;
let counter = 0;

/**
 * The id made up for a request that came without one, kept on the request object itself so that `predict`
 * records the same id. (A WeakMap per request measured ~15 µs a request in garbage collection of its ephemerons.)
 */
interface Named {
  modelshipRequestId?: string;
}

/** The request's id: its valid `x-request-id`, or the one made up for it. */
export function requestIdOf(request: InboundRequest): string | undefined {
  const sent = request.header(REQUEST_ID_HEADER);
  return sent !== null && VALID.test(sent) ? sent : (request as Named).modelshipRequestId;
}

/** `{ requestId }` for `predict`: the id the answer carries, so that feedback can name it. */
export function requestIdOption(request: InboundRequest): { requestId?: string } {
  const id = requestIdOf(request);
  return id === undefined ? {} : { requestId: id };
}

/**
 * Wraps the handler's routing so that every answer carries `x-request-id`: the client's own when valid, else a
 * new one (`<12 hex>-<counter>`). The id reaches `predict` as `requestId`, which is what
 * `POST /v2/models/{name}/feedback` joins labels by.
 */
export function withRequestId(
  next: (request: InboundRequest) => Promise<OutboundResponse | undefined>,
): (request: InboundRequest) => Promise<OutboundResponse | undefined> {
  return (request) => {
    let id = requestIdOf(request);
    if (id === undefined) {
      id = PREFIX + (++counter).toString(36);
      (request as Named).modelshipRequestId = id;
    }
    const named = id;
    return next(request).then(
      (response) => response && { ...response, headers: { ...response.headers, [REQUEST_ID_HEADER]: named } },
    );
  };
}
