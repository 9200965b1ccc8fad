import type { Priority } from '../serving/batching/index.js';
import { parseDeadlineHeader } from '../core/deadline.js';
import type { RoutedPredictOptions } from '../serving/servable.js';
import type { InboundRequest } from './exchange.js';
import type { ModelTable } from './model-table.js';
import { methodNotAllowed } from './responses.js';
import { requestIdOption } from './request-id.js';

/** What a route receives. */
export interface RouteContext {
  readonly request: InboundRequest;
  readonly method: string;
  /** Path segments after the base path, URL-decoded. */
  readonly segments: readonly string[];
  readonly table: ModelTable;
  /** The admin bearer token, when the admin routes are enabled. */
  readonly adminToken: string | undefined;
  readonly maxBodyBytes: number;
  /** Reads and parses the JSON body within the size limit; once per request (the stream is consumed). */
  body(): Promise<unknown>;
}

/** Throws 405 unless the method is one of `allow` (HEAD counts as GET). */
export function requireMethod(ctx: RouteContext, ...allow: string[]): void {
  const method = ctx.method === 'HEAD' && allow.includes('GET') ? 'GET' : ctx.method;
  if (!allow.includes(method)) throw methodNotAllowed(ctx.method, allow);
}

/** Headers a client may send to shape how its prediction is queued. */
export const DEADLINE_HEADER = 'x-modelship-deadline-ms';
/** The request header that sets a request's priority (`high`, `normal`, `low`). */
export const PRIORITY_HEADER = 'x-modelship-priority';
/** Keeps a client on one version of a deployment (canary routing is sticky by this key). */
export const ROUTE_KEY_HEADER = 'x-modelship-route-key';
/** The version that answered, on every prediction response. */
export const VERSION_HEADER = 'x-modelship-version';

/**
 * Per-request predict options from the request: the client's disconnect as an abort signal, and the
 * deadline and priority headers (validated by `predict`, so a bad value is a 400 `INVALID_ARGUMENT`), and the
 * routing key deployments use for sticky canaries.
 */
export function predictOptions(ctx: RouteContext): RoutedPredictOptions {
  const deadline = ctx.request.header(DEADLINE_HEADER);
  const priority = ctx.request.header(PRIORITY_HEADER);
  const routingKey = ctx.request.header(ROUTE_KEY_HEADER);
  const signal = ctx.request.signal;
  return {
    ...(signal === undefined ? {} : { signal }),
    ...(deadline === null ? {} : { deadlineMs: parseDeadlineHeader(DEADLINE_HEADER, deadline) }),
    ...(priority === null ? {} : { priority: priority.trim().toLowerCase() as Priority }),
    ...(routingKey === null || routingKey === '' ? {} : { routingKey }),
    ...requestIdOption(ctx.request),
  };
}
