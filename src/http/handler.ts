import { ModelshipError } from '../errors/index.js';
import { defaultLogger } from '../serving/logger.js';
import type { Servable } from '../serving/servable.js';
import { readJsonBody } from './body.js';
import type { HandlerCore, InboundRequest, OutboundResponse } from './exchange.js';
import { createFetchHandler, type FetchHandler } from './fetch-adapter.js';
import { DEFAULT_MAX_BODY_BYTES, parseHandlerOptions, type HandlerOptions } from './handler-options.js';
import { ModelTable } from './model-table.js';
import { errorResponse, json } from './responses.js';
import { requireMethod, type RouteContext } from './route-context.js';
import { describeModel, handlePredict } from './routes/predict.js';
import { handleAdmin } from './routes/admin.js';
import { handleV2 } from './oip/routes.js';
import { handleRepository, isRepositoryRoute } from './routes/repository.js';
import { handleV1 } from './routes/v1/tf-serving.js';
import { observe } from './observe.js';
import { withRequestId } from './request-id.js';

/**
 * What `createHandler` returns: the handler's core (`dispatch`, `notFound`) behind its fetch face
 * (`(request) => Promise<Response>`, `handle`), plus lifecycle. `serve()` (node:http) and the Express
 * middleware drive the same core: each builds an `InboundRequest` from its platform's request, dispatches
 * it and writes the `OutboundResponse` back.
 */
export interface ModelshipHandler extends FetchHandler, HandlerCore, AsyncDisposable {
  /** Closes the served models (unless `closeModels: false`), after their in-flight requests finish. */
  close(): Promise<void>;
  readonly models: readonly Servable[];
}

function splitPath(pathname: string, basePath: string): string[] | undefined {
  if (basePath !== '') {
    if (pathname !== basePath && !pathname.startsWith(`${basePath}/`)) return undefined;
    pathname = pathname.slice(basePath.length);
  }
  const segments = pathname.split('/').filter((s) => s !== '');
  if (!pathname.includes('%')) return segments;
  try {
    return segments.map(decodeURIComponent);
  } catch {
    throw new ModelshipError('MALFORMED_REQUEST', 'The request path is not valid percent-encoding.');
  }
}

async function route(ctx: RouteContext): Promise<OutboundResponse | undefined> {
  const [first] = ctx.segments;
  const rest = ctx.segments.length;
  if (first === 'healthz' && rest === 1) {
    requireMethod(ctx, 'GET');
    return json({ status: 'ok' });
  }
  if (first === 'readyz' && rest === 1) {
    requireMethod(ctx, 'GET');
    const models = ctx.table.all.map((m) => ({ name: m.name, version: m.version, state: m.state }));
    const ready = models.every((m) => m.state === 'ready');
    return json({ status: ready ? 'ready' : 'not_ready', models }, ready ? 200 : 503);
  }
  if (first === 'predict' && rest === 1) {
    requireMethod(ctx, 'POST');
    return handlePredict(ctx, ctx.table.primary);
  }
  if (first === 'models') return routeModels(ctx);
  if (first === 'v2' && isRepositoryRoute(ctx)) return handleRepository(ctx);
  if (first === 'v2') return handleV2(ctx);
  if (first === 'v1') return handleV1(ctx);
  if (first === 'admin' && ctx.adminToken !== undefined) return handleAdmin(ctx, ctx.adminToken);
  return undefined;
}

async function routeModels(ctx: RouteContext): Promise<OutboundResponse | undefined> {
  const [, name, a, b, c] = ctx.segments;
  const n = ctx.segments.length;
  if (n === 1) {
    requireMethod(ctx, 'GET');
    return json({ models: ctx.table.all.map(describeModel) });
  }
  if (name === undefined) return undefined;
  if (n === 2) {
    requireMethod(ctx, 'GET');
    return json(describeModel(ctx.table.get(name)));
  }
  if (n === 3 && a === 'predict') {
    requireMethod(ctx, 'POST');
    return handlePredict(ctx, ctx.table.get(name));
  }
  if (n === 5 && a === 'versions' && b !== undefined && c === 'predict') {
    requireMethod(ctx, 'POST');
    return handlePredict(ctx, ctx.table.get(name, b));
  }
  return undefined;
}

/**
 * Creates the HTTP handler for a set of loaded models: a core that answers an `InboundRequest`
 * (`handler.dispatch`), with a fetch face. Call it directly where the platform speaks `Request`/`Response`
 * (Next.js route handlers, Bun, Deno), or pass it to `serve()` (node:http) or the Express middleware, which
 * drive its core without building a fetch `Request`.
 *
 * Routes: `POST /predict`, `POST /models/{name}[/versions/{v}]/predict`, `GET /models[/{name}]`,
 * `GET /healthz`, `GET /readyz`, and the KServe v2 / Open Inference Protocol routes under `/v2`. Deployments
 * (`createDeployment`) are served like models; with `admin: { token }`, `GET/POST /admin/deployments/{name}`
 * manage them.
 *
 * @example
 * ```ts
 * const model = await loadModel('mnist@production', { registry });
 * const handler = createHandler({ models: [model] });
 * const res = await handler(new Request('http://x/predict', { method: 'POST', body: JSON.stringify({ inputs: [pixels] }) }));
 * // The same route through the core, as serve() and the Express middleware reach it:
 * const answer = await handler.dispatch({ method: 'GET', path: '/healthz', header: () => null, bytes: async () => new Uint8Array(0), signal: undefined });
 * ```
 */
export function createHandler(options: HandlerOptions): ModelshipHandler {
  const opts = parseHandlerOptions(options);
  const table = new ModelTable(opts.models);
  const basePath = opts.basePath ?? '';
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const logger = opts.logger ?? defaultLogger;
  let closing: Promise<void> | undefined;

  const routed = async (request: InboundRequest): Promise<OutboundResponse | undefined> => {
    try {
      const segments = splitPath(request.path, basePath);
      if (segments === undefined) return undefined;
      // Not memoized: a cached promise would keep the parsed body alive until the answer is sent (see
      // `predictVersioned` for why that costs).
      let bodyTaken = false;
      const ctx: RouteContext = {
        request,
        method: request.method,
        segments,
        table,
        adminToken: opts.admin?.token,
        maxBodyBytes,
        body: () => {
          if (bodyTaken) return Promise.reject(new ModelshipError('INTERNAL', 'A route read the request body twice.'));
          bodyTaken = true;
          return readJsonBody(request, maxBodyBytes);
        },
      };
      return await route(ctx);
    } catch (error) {
      const allow = ModelshipError.hasCode(error, 'METHOD_NOT_ALLOWED')
        ? (error.details?.allow as string[])
        : undefined;
      return errorResponse(error, logger, allow ? { allow: allow.join(', ') } : undefined);
    }
  };
  const { dispatch, close: closeObserved } = observe(opts, logger, withRequestId(routed)); // /metrics, access and payload logs
  const notFound = (request: InboundRequest): OutboundResponse =>
    errorResponse(
      new ModelshipError(
        'ROUTE_NOT_FOUND',
        `No route for ${request.method} ${request.path}; see GET ${basePath}/models for what is served.`,
      ),
      logger,
    );
  const handler = createFetchHandler({ dispatch, notFound }) as ModelshipHandler;

  const close = (): Promise<void> => {
    closing ??=
      opts.closeModels === false
        ? closeObserved()
        : Promise.all([closeObserved(), ...table.all.map((m) => m.close())]).then(() => undefined);
    return closing;
  };
  Object.defineProperties(handler, {
    dispatch: { value: dispatch },
    notFound: { value: notFound },
    models: { value: table.all },
    close: { value: close },
    [Symbol.asyncDispose]: { value: close },
  });
  return handler;
}
