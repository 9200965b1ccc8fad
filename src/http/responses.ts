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
 * The error shapes of the protocols served: the simple JSON API answers `{"error": {"code", "message",
 * "details?"}}`; the Open Inference Protocol (`oip`, KServe v2 / Triton) and TF Serving's REST API
 * (`tfserving`, KServe v1) answer `{"error": "<message>"}`, which their clients read as a string, with
 * modelship's stable `code` beside it.
 */
export type ErrorProtocol = 'simple' | 'oip' | 'tfserving';

/** An error raised on a route of `protocol`: {@link errorResponse} answers it in that protocol's shape. */
class ProtocolError extends ModelshipError {
  readonly protocol: ErrorProtocol;
  constructor(e: ModelshipError, protocol: ErrorProtocol) {
    super(e.code, e.message, {
      cause: e.cause ?? e,
      httpStatus: e.httpStatus,
      retryable: e.retryable,
      ...(e.details === undefined ? {} : { details: e.details }),
    });
    this.protocol = protocol;
  }
}

/**
 * Marks an error thrown on a route of `protocol` so that the handler answers it in that protocol's error shape
 * (see {@link ErrorProtocol}). A copy: the original, which other routes may raise too, stays unmarked.
 */
export function inProtocol(error: unknown, protocol: ErrorProtocol): ModelshipError {
  const e = toModelshipError(error);
  return protocol === 'simple' || e instanceof ProtocolError ? e : new ProtocolError(e, protocol);
}

/**
 * Turns any thrown value into the error answer of its protocol (see {@link inProtocol}), with the mapped
 * status: `{"error": {"code", "message", "details?"}}` by default, `{"error": "<message>", "code"}` on OIP and
 * TF Serving routes. Never a stack trace; server-side failures get a generic message and are logged in full.
 */
export function errorResponse(error: unknown, logger: Logger, headers?: Record<string, string>): OutboundResponse {
  const e = toModelshipError(error);
  reportHttpError(e, logger);
  const body = OPAQUE.has(e.code) ? { code: e.code, message: genericMessage(e) } : bounded(e);
  const extra: Record<string, string> = { ...headers };
  // 429 and retryable 503s tell well-behaved clients when to come back.
  if (e.retryable && (e.httpStatus === 503 || e.httpStatus === 429)) extra['retry-after'] ??= '1';
  if (e instanceof ProtocolError) {
    // Exactly `application/json`, as Triton and TF Serving send it: KServe's Python client reads the error
    // message only when the type is that string.
    extra['content-type'] = 'application/json';
    return json({ error: body.message, code: body.code }, e.httpStatus, extra);
  }
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

/** Answers smaller than this go out as they are: compressing them costs more than it saves. */
const COMPRESS_MIN_BYTES = 1024;
const textEncoder = new TextEncoder();

/** The coding to answer with for an `Accept-Encoding` value: gzip or deflate when accepted (q > 0), else none. */
export function pickEncoding(accept: string | null): 'gzip' | 'deflate' | undefined {
  if (accept === null) return undefined;
  let gzip = false;
  let deflate = false;
  for (const part of accept.toLowerCase().split(',')) {
    const [coding = '', ...params] = part.split(';').map((p) => p.trim());
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    if (coding === 'gzip' || coding === 'x-gzip' || coding === '*') gzip = true;
    else if (coding === 'deflate') deflate = true;
  }
  return gzip ? 'gzip' : deflate ? 'deflate' : undefined;
}

/**
 * The answer compressed as the client's `Accept-Encoding` asks (gzip, else deflate in the zlib format, which
 * is HTTP's `deflate` and what tritonclient's `zlib.decompress` reads), with `Content-Encoding` and
 * `Vary: Accept-Encoding`; small answers and error answers are left as they are.
 */
export async function compressAnswer(accept: string | null, response: OutboundResponse): Promise<OutboundResponse> {
  const coding = pickEncoding(accept);
  if (coding === undefined || response.status >= 400) return response;
  const bytes = typeof response.body === 'string' ? textEncoder.encode(response.body) : response.body;
  if (bytes.byteLength < COMPRESS_MIN_BYTES) return response;
  const compressed = await new Response(
    new Blob([bytes]).stream().pipeThrough(new CompressionStream(coding)),
  ).arrayBuffer();
  return {
    status: response.status,
    headers: { ...response.headers, 'content-encoding': coding, vary: 'accept-encoding' },
    body: new Uint8Array(compressed),
  };
}
