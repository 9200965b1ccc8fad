import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { ModelshipError } from '../../errors/index.js';
import type { ModelshipHandler } from '../handler.js';
import { BodyBudget, onClientError } from './request-limits.js';
import { fromNodeRequest, sendResponse, sendWebResponse, toWebRequest } from './bridge.js';
import { parseServeOptions, type ServeOptions } from './serve-options.js';
import { shutDown } from './shutdown.js';
import { metricsRoute } from './metrics-route.js';
import { serveGrpc, type ModelshipGrpcServer } from '../grpc/serve-grpc.js';

export type { ServeOptions } from './serve-options.js';

/** A running server. */
export interface ModelshipServer extends AsyncDisposable {
  readonly server: HttpServer;
  readonly port: number;
  /** `http://127.0.0.1:<port>` (or the bound host). */
  readonly url: string;
  /** The gRPC server, when `serve()` was given `grpc` (its `url` is `grpc://127.0.0.1:<port>`). */
  readonly grpc?: ModelshipGrpcServer;
  /**
   * Graceful shutdown: stops accepting connections (and gRPC calls); every answer from now on carries `Connection: close`,
   * requests in flight finish (up to `shutdownTimeoutMs`) and their answers are delivered, idle keep-alive
   * connections are closed; then the handler closes, and with it the models.
   */
  close(): Promise<void>;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * The handler turns every failure into an answer; this only runs if writing the answer failed (the client
 * went away mid-write), so there is nobody left to tell more.
 */
function writeFailed(res: ServerResponse): void {
  if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code: 'INTERNAL', message: 'Internal error' } }));
}

/**
 * Serves a handler on node:http: the node:http adapter of the handler's core. Each request becomes an
 * `InboundRequest` read straight from `IncomingMessage` (no fetch `Request`), goes to `handler.dispatch`, and
 * its answer is written in one go; paths the handler does not serve go to `fallback`, else get its 404. Any
 * other fetch-style function (`(Request) => Promise<Response>` with `close()`) is served through a `Request`.
 *
 * @example
 * ```ts
 * const server = await serve(createHandler({ models: [model] }), { port: 8080 });
 * process.on('SIGTERM', () => server.close());
 * ```
 */
export async function serve(handler: ModelshipHandler, serveOptions: ServeOptions = {}): Promise<ModelshipServer> {
  const options = parseServeOptions(serveOptions);
  const metrics = metricsRoute(options.metrics);
  await metrics?.ready; // every request is counted, the first one too
  let closing: Promise<void> | undefined;
  const budget = new BodyBudget(options.maxInFlightBodyBytes);
  // node checks request timeouts on an interval, not per request: nothing is added to the hot path.
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const timeouts = {
    requestTimeout,
    headersTimeout: requestTimeout === 0 ? 60_000 : Math.min(60_000, requestTimeout),
    connectionsCheckingInterval:
      requestTimeout === 0 ? 30_000 : Math.min(30_000, Math.max(10, Math.floor(requestTimeout / 4))),
  };
  const hasCore = typeof (handler as Partial<ModelshipHandler>).dispatch === 'function';
  // A fetch-only handler (any `(Request) => Promise<Response>`) has no core: it gets a fetch Request.
  const serveFetchOnly = (req: IncomingMessage, res: ServerResponse): Promise<void> =>
    handler(toWebRequest(req, res)).then((response) => {
      if (closing) res.setHeader('connection', 'close');
      return sendWebResponse(res, response, req.method);
    });
  const server = createServer(timeouts, (req: IncomingMessage, res: ServerResponse) => {
    if (closing) res.setHeader('connection', 'close');
    if (!hasCore) {
      serveFetchOnly(req, res).catch(() => writeFailed(res));
      return;
    }
    const inbound = fromNodeRequest(req, undefined, budget);
    handler
      .dispatch(inbound)
      .then((response) => {
        // Read at answer time: a request in flight when close() started is its connection's last.
        if (response) return sendResponse(req, res, response, closing !== undefined);
        if (closing) res.setHeader('connection', 'close');
        if (metrics?.matches(req)) return metrics.answer(req, res);
        if (options.fallback) return options.fallback(req, res);
        // Not one of ours: the handler's own 404, which never reads the body. node drops a small unread body
        // after the answer and keeps the connection; a large one ends it (sendResponse decides).
        return sendResponse(req, res, handler.notFound(inbound));
      })
      .catch(() => writeFailed(res));
  });
  server.on('clientError', onClientError);
  const port0 = options.port ?? 8080;
  server.listen(port0, options.host);
  try {
    await once(server, 'listening');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new ModelshipError(
        'ADDRESS_IN_USE',
        code === 'EADDRINUSE'
          ? `Port ${port0} is already in use; pass another port (or 0 for a free one).`
          : `No permission to listen on port ${port0}; use a port above 1023.`,
        { cause },
      );
    }
    throw cause;
  }
  const { port } = server.address() as AddressInfo;
  const host =
    options.host === undefined || options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;

  let grpc: ModelshipGrpcServer | undefined;
  if (options.grpc) {
    try {
      grpc = await serveGrpc(handler, { ...options.grpc, shutdownTimeoutMs }, { closeHandler: false });
    } catch (error) {
      await shutDown(server, 0);
      throw error;
    }
  }
  const close = (): Promise<void> => {
    closing ??= (async () => {
      // Both drain at once; the handler (and the models) close once, after the last answer of either.
      await Promise.all([shutDown(server, shutdownTimeoutMs), grpc?.close()]);
      await Promise.all([handler.close(), metrics?.close()]);
    })();
    return closing;
  };
  options.signal?.addEventListener('abort', () => void close(), { once: true });
  return { server, port, url, ...(grpc ? { grpc } : {}), close, [Symbol.asyncDispose]: close };
}
