/** A node:http server on a free port that tests can stop and start again on the same port (outage tests). */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export interface RestartableServer {
  /** `http://127.0.0.1:<port>`, stable across restarts. */
  readonly url: string;
  readonly port: number;
  /** Whether it is accepting connections. */
  readonly up: boolean;
  /** Stops listening and drops open connections, like a crashed server. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Starts `handler` (404 JSON for routes it declines) on a free port. */
export async function startRestartableServer(handler: RouteHandler): Promise<RestartableServer> {
  const make = (): Server =>
    createServer((req, res) => {
      handler(req, res)
        .then((handled) => {
          if (!handled && !res.headersSent) {
            res.writeHead(404, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ error: `no route ${req.method} ${req.url}` }));
          }
        })
        .catch((error: unknown) => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: String(error) }));
        });
    });
  let server: Server | undefined = make();
  const port = await listen(server, 0);
  const self: RestartableServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    get up() {
      return server !== undefined;
    },
    async stop() {
      const s = server;
      if (s === undefined) return;
      server = undefined;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    },
    async start() {
      if (server !== undefined) return;
      const s = make();
      await listen(s, port);
      server = s;
    },
    close: () => self.stop(),
  };
  return self;
}
