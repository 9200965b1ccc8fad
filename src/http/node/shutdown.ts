import { once } from 'node:events';
import type { Server as HttpServer } from 'node:http';

/**
 * How long a keep-alive connection that is idle when `close()` starts gets to send one more request, which is
 * answered (with `Connection: close`) like any other. node's `server.close()` destroys idle connections at
 * once, and under load "idle" includes connections whose next request is already in the socket's receive
 * buffer, not yet read: destroying those resets requests the client has sent (2–9 per close, measured).
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
  // node's close() calls closeIdleConnections() itself; for this one call it does nothing.
  const own = server as { closeIdleConnections: () => void };
  own.closeIdleConnections = noop;
  try {
    server.close();
  } finally {
    delete (own as Partial<typeof own>).closeIdleConnections;
  }
  // Sweeps again and again: a connection whose answer was written before close() (keep-alive, by a fallback
  // app) goes idle later and would otherwise stay open until its keep-alive timeout. Each sweep waits for the
  // event loop's next poll phase (setImmediate runs after it): a timer that fires late, after the process was
  // not scheduled for a while, runs before the loop reads the sockets, so requests already received would
  // still look idle and be reset (seen on a machine with more runnable threads than cores).
  let pending: NodeJS.Immediate | undefined;
  const sweep = setInterval(() => {
    pending ??= setImmediate(() => {
      pending = undefined;
      server.closeIdleConnections();
    });
  }, IDLE_GRACE_MS);
  const cut = setTimeout(() => server.closeAllConnections(), timeoutMs);
  try {
    await closed;
  } finally {
    clearInterval(sweep);
    if (pending !== undefined) clearImmediate(pending);
    clearTimeout(cut);
  }
}
