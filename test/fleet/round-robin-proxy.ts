/**
 * A round-robin TCP load balancer for the fleet tests, like a Kubernetes Service without session affinity: each
 * client connection goes to the next backend; a backend that refuses the connection (killed, restarting) is
 * skipped for the next one, as a balancer with health checks would. It reads the status line of every answer
 * (one request per connection in the tests) so the test can say what the clients saw through it.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface ProxyStats {
  /** Answers by status code, over all backends. */
  readonly statuses: Map<number, number>;
  /** Connections that reached a backend, per backend port. */
  readonly connections: Map<number, number>;
  /** Connections a backend cut before answering (the killed replica's in-flight requests), per backend port. */
  readonly cut: Map<number, number>;
  /** Connection errors before a backend accepted, by error code (ECONNREFUSED from a replica that is down). */
  readonly refused: Map<string, number>;
  /** Clients closed because no backend accepted their connection. */
  unplaced: number;
}

export interface RoundRobinProxy {
  readonly port: number;
  readonly stats: ProxyStats;
  close(): Promise<void>;
}

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})/;

/** Starts the proxy on 127.0.0.1 (any port) in front of `backends` (ports on 127.0.0.1). */
export async function startRoundRobinProxy(backends: readonly number[]): Promise<RoundRobinProxy> {
  const stats: ProxyStats = {
    statuses: new Map(),
    connections: new Map(),
    cut: new Map(),
    refused: new Map(),
    unplaced: 0,
  };
  let next = 0;
  const sockets = new Set<Socket>();

  const connect = (
    client: Socket,
    pending: Buffer[],
    buffer: (chunk: Buffer) => void,
    first: number,
    tried: number,
  ): void => {
    if (tried >= backends.length) {
      stats.unplaced++;
      client.destroy();
      return;
    }
    // A retry goes to the backend after the one that refused, whatever other clients took meanwhile.
    const port = backends[(first + tried) % backends.length] as number;
    const upstream = createConnection({ host: '127.0.0.1', port });
    sockets.add(upstream);
    let connected = false;
    let answered = false;
    upstream.once('connect', () => {
      connected = true;
      stats.connections.set(port, (stats.connections.get(port) ?? 0) + 1);
      client.off('data', buffer);
      for (const chunk of pending) upstream.write(chunk);
      pending.length = 0;
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (answered) return;
      answered = true;
      const m = STATUS_LINE.exec(chunk.toString('latin1', 0, 16));
      const status = m ? Number(m[1]) : 0;
      stats.statuses.set(status, (stats.statuses.get(status) ?? 0) + 1);
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (connected) return;
      // Refused before connecting: that backend is down, the next one takes the client.
      const code = error.code ?? 'error';
      stats.refused.set(code, (stats.refused.get(code) ?? 0) + 1);
      connect(client, pending, buffer, first, tried + 1);
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      if (!connected) return;
      // Closed (reset, or a FIN from a dying process) before any answer: the request was cut.
      if (!answered) {
        stats.cut.set(port, (stats.cut.get(port) ?? 0) + 1);
        client.destroy();
      } else client.end();
    });
  };

  const server: Server = createServer((client) => {
    sockets.add(client);
    const pending: Buffer[] = [];
    const buffer = (chunk: Buffer): void => void pending.push(chunk);
    client.on('data', buffer);
    client.on('error', () => undefined);
    client.on('close', () => sockets.delete(client));
    // Piping starts once a backend accepted; until then the request waits in `pending`.
    connect(client, pending, buffer, next++ % backends.length, 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
