/** A small static file server for browser tests: real port, chosen headers, and a log of every request. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.map': 'application/json',
};

/** Headers that make a page cross-origin isolated (SharedArrayBuffer, fine-grained timers). */
export const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
};

export interface StaticServer {
  readonly url: string;
  /** Paths requested so far, in order (`/mnist.onnx`). */
  readonly requests: string[];
  close(): Promise<void>;
}

/**
 * Serves `mounts` (URL prefix → directory) on 127.0.0.1 and a free port. `/` maps to `index.html`.
 */
export async function serveStatic(
  mounts: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<StaticServer> {
  const requests: string[] = [];
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const prefix = prefixes.find((p) => path.startsWith(p));
    const send404 = (): void => {
      res.writeHead(404, { 'content-type': 'text/plain', ...headers }).end('not found');
    };
    if (prefix === undefined) return send404();
    const root = mounts[prefix] as string;
    const rel = path.slice(prefix.length).replace(/^\/+/, '') || 'index.html';
    const file = normalize(join(root, rel));
    if (!file.startsWith(normalize(root) + sep) && file !== normalize(root)) return send404();
    stat(file).then(
      (s) => {
        if (!s.isFile()) return send404();
        res.writeHead(200, {
          'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
          'content-length': String(s.size),
          'cache-control': 'no-store',
          ...headers,
        });
        createReadStream(file).pipe(res);
      },
      () => send404(),
    );
  });
  server.keepAliveTimeout = 120_000; // no idle-socket close racing a reused connection on a slow machine
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
