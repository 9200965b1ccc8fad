import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ModelshipError } from '../../errors/index.js';
import { recordHttpError } from '../../telemetry/http-metrics.js';

/**
 * The request bytes a server holds at once, over all bodies being read. Without it, three concurrent 6.4 MB
 * bodies stalled `/healthz` for a second and 60 slow near-limit uploads held about 480 MB; with it, a body past
 * the budget is refused before a byte of it is read and the client is told when to come back.
 */
export class BodyBudget {
  /** Bytes held by the bodies being read now (declared lengths, or what arrived if more). */
  inFlight = 0;
  readonly #max: number | undefined;

  /** `max` undefined: four times the per-request limit of each read. */
  constructor(max: number | undefined) {
    this.#max = max;
  }

  /**
   * True when `adding` more bytes keep the server within its budget. A body alone (nothing else in flight but
   * the `own` bytes it already holds) is always let in, so a budget below `maxBodyBytes` cannot refuse every
   * request.
   */
  admits(adding: number, limit: number, own = 0): boolean {
    return this.inFlight === own || this.inFlight + adding <= (this.#max ?? 4 * limit);
  }

  /** The 503 for a body past the budget (SERVER_BUSY: the server is full, retry after a moment). */
  refusal(limit: number): ModelshipError {
    const budget = this.#max ?? 4 * limit;
    return new ModelshipError(
      'SERVER_BUSY',
      `The server is receiving as many request bytes as it takes at once (${budget}); retry in a moment or raise maxInFlightBodyBytes.`,
      { details: { maxInFlightBodyBytes: budget } },
    );
  }
}

/** Marks a socket whose request the server's request timeout cut, so the body reader reports 408, not ABORTED. */
export const REQUEST_TIMED_OUT = Symbol('modelship.requestTimedOut');
/** A socket that may carry the request-timeout mark. */
export type TimedSocket = Socket & { [REQUEST_TIMED_OUT]?: boolean };

/** The 408 for a request not received in time. */
export function requestTimeout(cause?: unknown): ModelshipError {
  return new ModelshipError(
    'REQUEST_TIMEOUT',
    'The request was not received in time (requestTimeoutMs); send the body at once or raise the timeout.',
    cause === undefined ? {} : { cause },
  );
}

const STATUS_LINES: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: '413 Payload Too Large',
};

/**
 * node's `clientError` answer, except that a request the request timeout cut gets a JSON 408
 * `REQUEST_TIMEOUT` like every other modelship error (node's own is an empty 408). The other answers are
 * node's, byte for byte.
 */
export function onClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const inFlight = (socket as { _httpMessage?: { headersSent: boolean } })._httpMessage;
  if (socket.writable && inFlight?.headersSent !== true) {
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      (socket as TimedSocket)[REQUEST_TIMED_OUT] = true;
      const body = JSON.stringify({ error: requestTimeout().toJSON() });
      const head =
        'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n';
      socket.write(`${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      // Counted here only when no body reader is waiting (it reports the 408 itself).
      if (inFlight === undefined) recordHttpError('REQUEST_TIMEOUT');
    } else {
      socket.write(`HTTP/1.1 ${STATUS_LINES[error.code ?? ''] ?? '400 Bad Request'}\r\nConnection: close\r\n\r\n`);
    }
  }
  socket.destroy(error);
}
