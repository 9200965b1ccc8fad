/**
 * A Git server over smart HTTP, as GitHub or GitLab serve a repository: the real `git http-backend` (CGI) answers
 * `info/refs`, `git-upload-pack` and `git-receive-pack` for bare repositories under `root`, and the Git LFS batch
 * API with basic-transfer downloads is served beside it at `<repo>.git/info/lfs`. Options add HTTP Basic auth
 * (401 with `WWW-Authenticate`, as git expects before it asks its credential helper) and faults for tests.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { startRestartableServer, type RestartableServer } from '../restartable-server.js';

export interface GitHttpServerOptions {
  /** Directory holding bare repositories (`models.git`). */
  readonly root: string;
  /** Required `user:password` for every request (Basic auth), when set. */
  readonly basicAuth?: string;
}

export interface GitHttpServer extends RestartableServer {
  /** LFS objects by sha256 oid. */
  readonly lfs: Map<string, Uint8Array>;
  /** Requests to the LFS batch endpoint, for assertions. */
  readonly lfsBatches: unknown[];
  /** Answers the next `n` LFS batch requests with this status (429 with Retry-After: 0, 5xx, 401). */
  failLfsBatches(n: number, status: number): void;
  /** Serves this content instead of an LFS object's own (a corrupted store). */
  tamperLfs(oid: string, bytes: Uint8Array): void;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Runs `git http-backend` for one request, as a web server runs a CGI program (RFC 3875). */
async function cgi(
  root: string,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: string,
): Promise<void> {
  const input = await body(req);
  const child = spawn('git', ['http-backend'], {
    env: {
      ...process.env,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: path,
      QUERY_STRING: query,
      REQUEST_METHOD: req.method ?? 'GET',
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      CONTENT_LENGTH: String(input.byteLength),
      HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
      HTTP_GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
      REMOTE_ADDR: '127.0.0.1',
      REMOTE_USER: 'tester',
    },
  });
  child.stdin.end(input);
  const out: Buffer[] = [];
  for await (const c of child.stdout) out.push(c as Buffer);
  await new Promise((r) => child.once('close', r));
  const all = Buffer.concat(out);
  const split = all.indexOf('\r\n\r\n');
  const head = all.subarray(0, split).toString('latin1');
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
    else headers[key] = value;
  }
  res.writeHead(status, headers);
  res.end(all.subarray(split + 4));
}

/** Starts the server on a free port. */
export async function startGitHttpServer(options: GitHttpServerOptions): Promise<GitHttpServer> {
  const lfs = new Map<string, Uint8Array>();
  const tampered = new Map<string, Uint8Array>();
  const lfsBatches: unknown[] = [];
  let failures: { n: number; status: number } = { n: 0, status: 0 };
  const box: { url?: string } = {};
  const server = await startRestartableServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (options.basicAuth !== undefined) {
      const given = req.headers.authorization ?? '';
      if (given !== `Basic ${Buffer.from(options.basicAuth).toString('base64')}`) {
        // GitHub: 401 with a Basic challenge; git then tries its credential helper, and fails without a prompt.
        res.writeHead(401, { 'www-authenticate': 'Basic realm="GitHub"', 'content-type': 'text/plain' });
        res.end('Unauthorized');
        return true;
      }
    }
    const lfsMatch = /^(\/.+\.git)\/info\/lfs\/objects\/batch$/.exec(url.pathname);
    if (lfsMatch && req.method === 'POST') {
      const request = JSON.parse((await body(req)).toString('utf8')) as {
        operation: string;
        objects: { oid: string; size: number }[];
      };
      lfsBatches.push(request);
      if (failures.n > 0) {
        failures.n--;
        // The batch API's error shape: { message, documentation_url, request_id } with the status (git-lfs api docs).
        res.writeHead(failures.status, {
          'content-type': 'application/vnd.git-lfs+json',
          ...(failures.status === 429 ? { 'retry-after': '0' } : {}),
          ...(failures.status === 401 ? { 'lfs-authenticate': 'Basic realm="Git LFS"' } : {}),
        });
        res.end(JSON.stringify({ message: 'Try again', request_id: 'r1' }));
        return true;
      }
      // A successful batch: 200 with objects[], each with actions.download {href, header, expires_in} or an
      // error {code: 404, message} for a missing object (git-lfs docs/api/batch.md).
      const base = box.url ?? '';
      res.writeHead(200, { 'content-type': 'application/vnd.git-lfs+json' });
      res.end(
        JSON.stringify({
          transfer: 'basic',
          objects: request.objects.map((o) =>
            lfs.has(o.oid)
              ? {
                  oid: o.oid,
                  size: o.size,
                  authenticated: true,
                  actions: {
                    download: {
                      href: `${base}/lfs-storage/${o.oid}`,
                      header: { Authorization: 'RemoteAuth lfs-token' },
                      expires_in: 3600,
                    },
                  },
                }
              : { oid: o.oid, size: o.size, error: { code: 404, message: 'Object does not exist' } },
          ),
          hash_algo: 'sha256',
        }),
      );
      return true;
    }
    const storage = /^\/lfs-storage\/([0-9a-f]{64})$/.exec(url.pathname);
    if (storage && req.method === 'GET') {
      const oid = storage[1] as string;
      const bytes = tampered.get(oid) ?? lfs.get(oid);
      if (req.headers.authorization !== 'RemoteAuth lfs-token' || bytes === undefined) {
        res.writeHead(bytes === undefined ? 404 : 401);
        res.end();
        return true;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.byteLength });
      res.end(bytes);
      return true;
    }
    if (/\.git\//.test(url.pathname)) {
      await cgi(options.root, req, res, url.pathname, url.search.slice(1));
      return true;
    }
    return false;
  });
  box.url = server.url;
  return Object.assign(server, {
    lfs,
    lfsBatches,
    failLfsBatches(n: number, status: number) {
      failures = { n, status };
    },
    tamperLfs(oid: string, bytes: Uint8Array) {
      tampered.set(oid, bytes);
    },
  });
}

/** Adds `bytes` to the LFS store and returns the pointer file git-lfs writes for it. */
export function lfsPointer(server: GitHttpServer, bytes: Uint8Array): string {
  const oid = createHash('sha256').update(bytes).digest('hex');
  server.lfs.set(oid, bytes);
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${bytes.byteLength}\n`;
}

/** Writes a file, creating its directory. */
export async function writeInto(path: string, content: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}
