import { concatBytes } from '../core/bytes.js';
import { ModelshipError } from '../errors/index.js';
import { payloadTooLarge, type HandlerCore, type InboundRequest, type OutboundResponse } from './exchange.js';

/** Adapts a fetch `Request` for the handler's core (the body is read from its stream only when a route asks). */
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
          throw new ModelshipError(
            'ABORTED',
            'The client closed the connection before the request body was complete.',
            { cause },
          );
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

/** A handler's fetch face: what `createHandler` returns is one, with the core and the lifecycle added. */
export interface FetchHandler {
  /** Answers every request, with the handler's 404 for paths it does not serve. */
  (request: Request): Promise<Response>;
  /** Like calling the handler, but resolves `undefined` for paths it does not serve (for middleware chains). */
  handle(request: Request): Promise<Response | undefined>;
}

/**
 * The fetch adapter: a `(request: Request) => Promise<Response>` over a handler's core, for platforms that
 * speak `Request`/`Response` (Next.js route handlers, Bun, Deno, workers). It is as thin as the node:http and
 * Express adapters: build the inbound request, dispatch it, turn the answer into a `Response`.
 */
export function createFetchHandler(core: HandlerCore): FetchHandler {
  const handler = (async (request: Request): Promise<Response> => {
    const inbound = fromFetchRequest(request);
    return toFetchResponse((await core.dispatch(inbound)) ?? core.notFound(inbound));
  }) as FetchHandler;
  const handle = async (request: Request): Promise<Response | undefined> => {
    const response = await core.dispatch(fromFetchRequest(request));
    return response && toFetchResponse(response);
  };
  Object.defineProperty(handler, 'handle', { value: handle });
  return handler;
}
