import { once } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { recordHttpError } from '../../telemetry/http-metrics.js';
import { REQUEST_TIMED_OUT, requestTimeout, type TimedSocket } from './body-budget.js';

/**
 * How long a keep-alive connection that is idle when `close()` starts gets to send one more request, which is
 * answered (with `Connection: close`) like any other. Closing it at once, as node's `server.close()` does,
 * races a request its client is sending on it: under keep-alive load that reset 2–9 requests per close.
 */
const IDLE_GRACE_MS = 250;

const noop = (): void => undefined;

/**
 * Stops accepting connections and resolves once every open one has ended: those with a request in flight
 * finish it (the caller marks answers from now on as the connection's last), idle ones are closed after the
 * grace, and after `timeoutMs` whatever is left is cut.
 */
export async function shutDown(server: HttpServer, timeoutMs: number): Promise<void> {
  const closed = once(server, 'close');
  const own = server as { closeIdleConnections: () => void };
  own.closeIdleConnections = noop;
  try {
    server.close();
  } finally {
    delete (own as Partial<typeof own>).closeIdleConnections;
  }
  // Sweeps again and again: a connection whose answer was written before close() (keep-alive, by a fallback
  // app) goes idle later and would otherwise stay open until its keep-alive timeout.
  const sweep = setInterval(() => server.closeIdleConnections(), IDLE_GRACE_MS);
  const cut = setTimeout(() => server.closeAllConnections(), timeoutMs);
  try {
    await closed;
  } finally {
    clearInterval(sweep);
    clearTimeout(cut);
  }
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
      socket.write(
        `HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      // Counted here only when no body reader is waiting (it reports the 408 itself).
      if (inFlight === undefined) recordHttpError('REQUEST_TIMEOUT');
    } else {
      socket.write(`HTTP/1.1 ${STATUS_LINES[error.code ?? ''] ?? '400 Bad Request'}\r\nConnection: close\r\n\r\n`);
    }
  }
  socket.destroy(error);
}
