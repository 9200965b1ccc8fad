/**
 * A static file server on a real port, with the faults downloads must survive: a connection dropped mid-body,
 * a body cut short, an error status, a huge announced Content-Length, and servers that ignore Range. Serves a
 * directory (e.g. a local registry with index.json files) with ETag, Range/If-Range (206) and 404s.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

export type Fault =
  | { readonly kind: 'drop'; readonly after: number }
  | { readonly kind: 'truncate'; readonly after: number }
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'huge'; readonly length: number };

export class FileTestServer {
  /** Faults to apply to the next requests of a path (`/mnist/1/model.onnx`), in order. */
  readonly faults = new Map<string, Fault[]>();
  /** Every request: method, path and the headers that matter here. */
  readonly requests: { path: string; range?: string; authorization?: string }[] = [];
  /** Answer every request with 200 and the whole body, as if Range were not supported. */
  ignoreRange = false;
  /** Require this Authorization header; anything else gets 401. */
  authorization: string | undefined;
  #server: Server | undefined;
  #port = 0;

  constructor(readonly root: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  fail(path: string, ...faults: Fault[]): void {
    this.faults.set(path, [...(this.faults.get(path) ?? []), ...faults]);
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] as string);
    this.requests.push({
      path,
      ...(req.headers.range ? { range: req.headers.range } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    if (this.authorization !== undefined && req.headers.authorization !== this.authorization) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('unauthorized');
      return;
    }
    const fault = this.faults.get(path)?.shift();
    if (fault?.kind === 'status') {
      res.writeHead(fault.status, { 'content-type': 'text/plain' }).end(`status ${fault.status}`);
      return;
    }
    if (fault?.kind === 'huge') {
      res.writeHead(200, { 'content-length': String(fault.length), 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(1024));
      // Never finishes: the client must give up on its own, before reading it all.
      req.socket.once('close', () => res.destroy());
      return;
    }
    let bytes: Buffer;
    try {
      const file = normalize(join(this.root, path));
      if (!file.startsWith(normalize(this.root))) throw new Error('outside');
      bytes = await readFile(file);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const etag = `"${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}"`;
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (range && !this.ignoreRange && (ifRange === undefined || ifRange === etag) && Number(range[1]) < bytes.length) {
      start = Number(range[1]);
      res.writeHead(206, {
        etag,
        'content-length': bytes.length - start,
        'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}`,
      });
    } else {
      res.writeHead(200, {
        etag,
        'content-length': bytes.length,
        'accept-ranges': this.ignoreRange ? 'none' : 'bytes',
      });
    }
    const body = bytes.subarray(start);
    if (fault?.kind === 'drop' || fault?.kind === 'truncate') {
      res.write(body.subarray(0, fault.after), () => {
        if (fault.kind === 'drop') req.socket.destroy();
        else req.socket.end();
      });
      return;
    }
    res.end(body);
  }
}
