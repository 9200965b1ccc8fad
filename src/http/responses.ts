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
  const body = OPAQUE.has(e.code)
    ? { code: e.code, message: genericMessage(e) }
    : e.toJSON();
  const extra: Record<string, string> = { ...headers };
  // 429 and retryable 503s tell well-behaved clients when to come back.
  if (e.retryable && (e.httpStatus === 503 || e.httpStatus === 429)) extra['retry-after'] ??= '1';
  return json({ error: body }, e.httpStatus, extra);
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
