import { ModelshipError, toModelshipError } from '../errors/index.js';
import type { Logger } from '../serving/logger.js';
import { reportHttpError } from './error-log.js';
import type { OutboundResponse } from './exchange.js';

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' } as const;

/** A JSON answer. */
export function json(body: unknown, status = 200, headers?: Record<string, string>): OutboundResponse {
  return { status, headers: headers ? { ...JSON_HEADERS, ...headers } : JSON_HEADERS, body: JSON.stringify(body) };
}

/** Codes whose message may carry runtime internals; clients get a generic message, the log gets the detail. */
const OPAQUE = new Set(['INTERNAL', 'INFERENCE_FAILED', 'MODEL_LOAD_FAILED']);

/**
 * Turns any thrown value into `{"error": {"code", "message", "details?"}}` with the mapped status.
 * Never a stack trace; server-side failures get a generic message and are logged in full.
 */
export function errorResponse(error: unknown, logger: Logger, headers?: Record<string, string>): OutboundResponse {
  const e = toModelshipError(error);
  reportHttpError(e, logger);
  const body = OPAQUE.has(e.code) ? { code: e.code, message: genericMessage(e) } : bounded(e);
  const extra: Record<string, string> = { ...headers };
  // 429 and retryable 503s tell well-behaved clients when to come back.
  if (e.retryable && (e.httpStatus === 503 || e.httpStatus === 429)) extra['retry-after'] ??= '1';
  return json({ error: body }, e.httpStatus, extra);
}

/** Longest message and serialized `details` an error answer carries. */
const MAX_MESSAGE_CHARS = 1024;
const MAX_DETAILS_CHARS = 2048;
const MAX_DETAIL_STRING = 256;
const MAX_DETAIL_ITEMS = 10;

/**
 * The error as JSON, cut to a few KB. Messages and details may repeat what the client sent (names, values);
 * the routes already bound what they echo, and this is the net under all of them so that no request can make
 * its error answer large.
 */
function bounded(e: ModelshipError): { code: string; message: string; details?: Record<string, unknown> } {
  const { code, message, details } = e.toJSON();
  const text = message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}… (cut)` : message;
  if (details === undefined) return { code, message: text };
  const small: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details)) {
    const v = boundedValue(value);
    if (v !== undefined) small[key] = v;
    if (Array.isArray(value) && value.length > MAX_DETAIL_ITEMS) small[`${key}Count`] ??= value.length;
  }
  return JSON.stringify(small).length > MAX_DETAILS_CHARS
    ? { code, message: text }
    : { code, message: text, details: small };
}

/** A detail value within bounds: strings clipped, arrays shortened, anything else kept only if small. */
function boundedValue(value: unknown): unknown {
  if (typeof value === 'string')
    return value.length > MAX_DETAIL_STRING ? `${value.slice(0, MAX_DETAIL_STRING)}…` : value;
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value))
    return value
      .slice(0, MAX_DETAIL_ITEMS)
      .map((v) => (typeof v === 'object' && v !== null ? undefined : boundedValue(v)));
  if (typeof value === 'object') {
    try {
      const json = JSON.stringify(value);
      return json !== undefined && json.length <= MAX_DETAIL_STRING ? value : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function genericMessage(e: ModelshipError): string {
  if (e.code === 'INFERENCE_FAILED') return 'Inference failed inside the runtime; the server log has the details.';
  if (e.code === 'MODEL_LOAD_FAILED') return 'The model could not be loaded; the server log has the details.';
  return 'Internal error; the server log has the details.';
}

/** 405 with the `Allow` header listing what the route accepts. */
export function methodNotAllowed(method: string, allow: readonly string[]): ModelshipError {
  return new ModelshipError('METHOD_NOT_ALLOWED', `${method} is not allowed here; use ${allow.join(' or ')}.`, {
    details: { allow },
  });
}
