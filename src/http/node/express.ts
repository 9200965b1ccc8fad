import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHandler, type ModelshipHandler } from '../handler.js';
import type { HandlerOptions } from '../handler-options.js';
import { fromNodeRequest, sendResponse, sendWebResponse, toWebRequest } from './bridge.js';

/** The request fields the middleware reads; Express's `Request` has them. */
export type MiddlewareRequest = IncomingMessage & { body?: unknown; _body?: boolean };

/** An Express-compatible middleware that also carries the handler's lifecycle. */
export interface ModelshipMiddleware {
  (req: MiddlewareRequest, res: ServerResponse, next: (error?: unknown) => void): void;
  readonly handler: ModelshipHandler;
  /** Closes the models. Call it when the app shuts down. */
  close(): Promise<void>;
}

/**
 * Express (or Connect) middleware serving modelship's routes: the Express adapter of the handler's core, as
 * thin as `serve()`'s (an `InboundRequest` read from `IncomingMessage`, `handler.dispatch`, the answer written
 * in one go). Paths it does not serve go to `next()`, so it mounts anywhere:
 * `app.use('/ml', createMiddleware({ models: [model] }))`. Works with or without `express.json()` in front of it.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { createMiddleware } from 'modelship/express';
 * const app = express();
 * app.use(createMiddleware({ models: [model] }));
 * ```
 */
export function createMiddleware(handlerOrOptions: ModelshipHandler | HandlerOptions): ModelshipMiddleware {
  const handler = typeof handlerOrOptions === 'function' ? handlerOrOptions : createHandler(handlerOrOptions);
  const hasCore = typeof (handler as Partial<ModelshipHandler>).dispatch === 'function';
  const middleware = ((req: MiddlewareRequest, res: ServerResponse, next: (error?: unknown) => void): void => {
    // body-parser marks a consumed stream with `_body`; the parsed value is all that is left of the body.
    const consumed = req._body === true || req.readableEnded;
    const bodyOptions = consumed && req.body !== undefined ? { parsedBody: req.body } : {};
    if (hasCore) {
      handler
        .dispatch(fromNodeRequest(req, bodyOptions))
        .then((response) => (response ? sendResponse(req, res, response) : next()))
        .catch(next);
      return;
    }
    // A fetch-only handler (any `(Request) => Promise<Response>` with `handle`) has no core: it gets a Request.
    handler
      .handle(toWebRequest(req, res, bodyOptions))
      .then((response) => (response ? sendWebResponse(res, response, req.method) : next()))
      .catch(next);
  }) as ModelshipMiddleware;
  Object.defineProperties(middleware, {
    handler: { value: handler },
    close: { value: () => handler.close() },
  });
  return middleware;
}
