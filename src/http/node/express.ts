import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHandler, DISPATCH, type Dispatch, type ModelshipHandler } from '../handler.js';
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
 * Express (or Connect) middleware serving modelship's routes. Paths it does not serve go to `next()`, so it
 * mounts anywhere: `app.use('/ml', createMiddleware({ models: [model] }))`. Works with or without
 * `express.json()` in front of it.
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
  const middleware = ((req: MiddlewareRequest, res: ServerResponse, next: (error?: unknown) => void): void => {
    // body-parser marks a consumed stream with `_body`; the parsed value is all that is left of the body.
    const consumed = req._body === true || req.readableEnded;
    const bodyOptions = consumed && req.body !== undefined ? { parsedBody: req.body } : {};
    const dispatch = (handler as Partial<Record<typeof DISPATCH, Dispatch>>)[DISPATCH];
    if (dispatch) {
      dispatch(fromNodeRequest(req, bodyOptions))
        .then((response) => (response ? sendResponse(req, res, response) : next()))
        .catch(next);
      return;
    }
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
