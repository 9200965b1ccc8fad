import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { concatBytes } from '../../core/bytes.js';
import { ModelshipError } from '../../errors/index.js';
import { payloadTooLarge, type InboundRequest, type OutboundResponse } from '../exchange.js';
import { REQUEST_TIMED_OUT, requestTimeout, type BodyBudget, type TimedSocket } from './request-limits.js';

/** Options for {@link toWebRequest}. */
export interface ToWebRequestOptions {
  /** A body already read by earlier middleware (e.g. `express.json()`), re-serialized as JSON. */
  readonly parsedBody?: unknown;
  /** Builds the request without its body, for an answer that never reads it (node drops or refuses it). */
  readonly withoutBody?: boolean;
}

/**
 * Builds a fetch `Request` from a node:http request without buffering the body, with a signal that aborts
 * when the client goes away before the response is sent.
 */
export function toWebRequest(req: IncomingMessage, res: ServerResponse, options: ToWebRequestOptions = {}): Request {
  const host = req.headers.host ?? 'localhost';
  const protocol = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  const url = `${protocol}://${host}${originForm(req.url ?? '/')}`;
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  const method = req.method ?? 'GET';
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal: controller.signal };
  if (method !== 'GET' && method !== 'HEAD' && options.withoutBody !== true) {
    if (options.parsedBody !== undefined) {
      // The original Content-Type stays, so a form that a urlencoded parser consumed is still refused with 415.
      init.body = JSON.stringify(options.parsedBody);
      headers.delete('content-length');
      headers.delete('content-encoding');
    } else {
      init.body = Readable.toWeb(req) as ReadableStream<Uint8Array>;
      init.duplex = 'half';
    }
  }
  try {
    return new Request(url, init);
  } catch {
    // A malformed Host header or path: route it as "/" so the handler answers 404 instead of throwing.
    return new Request(`http://localhost/__invalid__`, { method: 'GET', signal: controller.signal });
  }
}

/** Writes a fetch `Response` to a node:http response. */
export async function sendWebResponse(res: ServerResponse, response: Response, method = 'GET'): Promise<void> {
  res.statusCode = response.status;
  response.headers.forEach((value, key) => {
    if (key !== 'set-cookie') res.setHeader(key, value);
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  if (method === 'HEAD' || response.body === null) {
    res.end();
    return;
  }
  const body = Buffer.from(await response.arrayBuffer());
  res.setHeader('content-length', body.byteLength);
  res.end(body);
}

/**
 * Adapts a node:http request for the handler's internal entry, without a fetch `Request`: headers are read
 * in place, the body is collected from the stream with the size limit applied as it arrives (and, given a
 * `budget`, the server-wide in-flight limit), and the abort signal (client gone) is only created when a
 * route asks for it.
 */
export function fromNodeRequest(
  req: IncomingMessage,
  options?: ToWebRequestOptions,
  budget?: BodyBudget,
): InboundRequest {
  return new NodeInboundRequest(req, options?.parsedBody, budget);
}

/**
 * The path and query of a request target. A client talking to a proxy (or a hostile one) may send the
 * absolute form, `GET http://host/healthz HTTP/1.1`, which RFC 9112 §3.2.2 says a server must accept; its
 * authority is not part of the path.
 */
export function originForm(target: string): string {
  if (target.charCodeAt(0) === 47 /* '/' */) return target;
  const scheme = target.indexOf('://');
  if (scheme === -1 || !/^[a-z][a-z0-9+.-]*$/i.test(target.slice(0, scheme))) return target;
  for (let i = scheme + 3; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === 47 /* '/' */) return target.slice(i);
    if (c === 63 /* '?' */ || c === 35 /* '#' */) return `/${target.slice(i)}`;
  }
  return '/';
}

/**
 * A class rather than an object literal with a getter (`signal` is lazy), which V8 keeps in dictionary mode:
 * see docs/performance.md, "Nothing a request allocates outlives it by accident".
 */
class NodeInboundRequest implements InboundRequest {
  readonly method: string;
  readonly path: string;
  readonly #req: IncomingMessage;
  readonly #parsedBody: unknown;
  readonly #budget: BodyBudget | undefined;

  constructor(req: IncomingMessage, parsedBody: unknown, budget: BodyBudget | undefined) {
    const rawUrl = originForm(req.url ?? '/');
    const q = rawUrl.indexOf('?');
    this.method = (req.method ?? 'GET').toUpperCase();
    this.path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    this.#req = req;
    this.#parsedBody = parsedBody;
    this.#budget = budget;
  }

  header(name: string): string | null {
    // A body a parser already read (and inflated) is handed on as JSON: its encoding headers no longer apply.
    if (this.#parsedBody !== undefined && name === 'content-encoding') return null;
    const v = this.#req.headers[name];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  }

  get signal(): AbortSignal {
    return connectionSignal(this.#req);
  }

  bytes(limit: number): Promise<Uint8Array> {
    if (this.#parsedBody !== undefined)
      return Promise.resolve(new TextEncoder().encode(JSON.stringify(this.#parsedBody)));
    return readNodeBody(this.#req, limit, this.#budget);
  }
}

const CONNECTION_ABORT = Symbol('modelship.connectionAbort');
type WatchedSocket = Socket & { [CONNECTION_ABORT]?: AbortController };

/**
 * An abort signal that fires when the request's connection closes: the client went away, so whatever it still
 * has queued can be dropped. One per connection, not per request: HTTP/1.1 answers a connection's requests in
 * order and a closed connection takes no more, so the requests a keep-alive connection carries can share it,
 * and the per-request `AbortController` plus `close` listener (a measurable share of a small prediction's
 * cost) are paid once per connection instead.
 */
function connectionSignal(req: IncomingMessage): AbortSignal {
  const socket = req.socket as WatchedSocket;
  let controller = socket[CONNECTION_ABORT];
  if (!controller) {
    const c = new AbortController();
    controller = c;
    socket[CONNECTION_ABORT] = c;
    if (socket.destroyed) c.abort();
    else socket.once('close', () => c.abort());
  }
  return controller.signal;
}

function readNodeBody(req: IncomingMessage, limit: number, budget: BodyBudget | undefined): Promise<Uint8Array> {
  // Bytes of the server-wide budget this body holds: its declared length from the start (60 slow uploads that
  // declare 8 MB each must not all be let in because each has sent a little), or what has arrived if more.
  let held = 0;
  if (budget !== undefined) {
    const declared = Number(req.headers['content-length'] ?? 0) || 0;
    // Refused before a byte of it is read; the answer closes the connection (see sendResponse).
    if (!budget.admits(declared, limit)) {
      (req as RefusableRequest)[BODY_REFUSED] = true;
      return Promise.reject(budget.refusal(limit));
    }
    held = declared;
    budget.inFlight += held;
  }
  return new Promise((resolve, reject) => {
    // The listeners go with the request object; only the refusing paths have to take their own off.
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let total = 0;
    const onData = (chunk: Buffer): void => {
      total += chunk.byteLength;
      let refusal: ModelshipError | undefined;
      if (total > limit) refusal = payloadTooLarge(limit);
      else if (budget !== undefined && total > held) {
        budget.inFlight += total - held;
        held = total;
        if (!budget.admits(0, limit, held)) refusal = budget.refusal(limit);
      }
      if (refusal !== undefined) {
        req.off('data', onData);
        // Stop buffering, discard the rest; the answer closes the connection (see sendResponse).
        (req as RefusableRequest)[BODY_REFUSED] = true;
        req.resume();
        first = undefined;
        chunks = undefined;
        if (budget !== undefined) budget.inFlight -= held;
        held = 0;
        reject(refusal);
        return;
      }
      // A small body arrives as one chunk, used as is.
      if (first === undefined) first = chunk;
      else (chunks ??= [first]).push(chunk);
    };
    // One listener for 'end' (no argument) and 'error' (the cause): no more closures per request than before.
    const settle = (cause?: unknown): void => {
      if (budget !== undefined) budget.inFlight -= held;
      held = 0;
      const body =
        cause === undefined ? (chunks ? concatBytes(chunks, total) : (first ?? new Uint8Array(0))) : undefined;
      // The listeners stay on the request until it is collected; they should not keep the body alive with it.
      first = undefined;
      chunks = undefined;
      if (body === undefined) reject(bodyCutShort(req, cause));
      else resolve(body);
    };
    req.on('data', onData);
    req.on('end', settle);
    req.on('error', settle);
  });
}

/**
 * Why a body stopped arriving: the server's request timeout cut it (408), or the client went away (499,
 * ABORTED). Either is the client's doing, not a server fault, and is logged as such.
 */
function bodyCutShort(req: IncomingMessage, cause: unknown): ModelshipError {
  if ((req.socket as TimedSocket | null)?.[REQUEST_TIMED_OUT] === true) return requestTimeout(cause);
  return new ModelshipError('ABORTED', 'The client closed the connection before the request body was complete.', {
    cause,
  });
}

/**
 * Writes an answer to a node:http response in one go; `last` (the server is shutting down) makes it the
 * connection's last answer.
 */
export function sendResponse(
  req: IncomingMessage,
  res: ServerResponse,
  response: OutboundResponse,
  last = false,
): void {
  const headers: Record<string, string | number> = {
    ...response.headers,
    'content-length': Buffer.byteLength(response.body),
  };
  if (last || answerEndsConnection(req)) headers.connection = 'close';
  res.writeHead(response.status, headers);
  res.end(req.method === 'HEAD' ? undefined : response.body);
}

const BODY_REFUSED = Symbol('modelship.bodyRefused');
type RefusableRequest = IncomingMessage & { [BODY_REFUSED]?: boolean };

/**
 * Unread request bytes node may read and drop after an early answer (a 404 or 405 sent without reading the
 * body), keeping the connection alive: closing it instead, with those bytes unread, makes the kernel answer
 * with a reset that can destroy the answer before the client reads it (the HTTP fuzz test saw it).
 */
const DRAIN_LIMIT_BYTES = 1024 * 1024;

/**
 * Whether the answer to `req` must be its connection's last: a body we stopped reading (too large), or an
 * unread one too large to read past. Such a connection is then closed after the answer, not before the client
 * has read it (see lingerBeforeClosing).
 */
export function answerEndsConnection(req: IncomingMessage): boolean {
  if (req.complete || drainable(req)) return false;
  lingerBeforeClosing(req.socket);
  return true;
}

function drainable(req: IncomingMessage): boolean {
  if ((req as RefusableRequest)[BODY_REFUSED] === true) return false;
  const declared = req.headers['content-length'];
  return declared !== undefined && Number(declared) <= DRAIN_LIMIT_BYTES;
}

/** How long a closing connection keeps reading (and dropping) what the client still sends. */
const LINGER_MS = 2_000;
const LINGERING = Symbol('modelship.lingering');
type LingeringSocket = Socket & { [LINGERING]?: boolean; destroySoon?: () => void };

/**
 * A lingering close, as nginx and Apache do it: node ends a `Connection: close` exchange with
 * `socket.destroySoon()`, which closes the socket as soon as the answer is written, while the client may still
 * be sending its body; the unread bytes turn the close into a reset, and the client often loses the answer
 * (a 413 it never sees). Instead, the answer and a FIN go out, what still arrives is read and dropped, and the
 * socket is destroyed when the client closes its side or after {@link LINGER_MS}.
 */
function lingerBeforeClosing(socket: Socket | null): void {
  const s = socket as LingeringSocket | null;
  if (s === null || s[LINGERING] === true || typeof s.destroySoon !== 'function') return;
  s[LINGERING] = true;
  s.destroySoon = function (this: LingeringSocket): void {
    // No more requests are parsed from this connection: its bytes are dropped.
    this.removeAllListeners('data');
    this.on('data', discard);
    this.once('end', () => this.destroy());
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    this.end();
    this.resume();
  };
}

function discard(): void {}
