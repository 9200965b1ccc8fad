/**
 * Model downloads for the browser build, against a real HTTP server: status mapping, progress, integrity,
 * and the cache protocol (the real Cache API is exercised in Chromium by test/browser).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/core/digest.js';
import { download, type DownloadProgress } from '../../src/platform/browser/download.js';
import { fetchModel } from '../../src/platform/browser/fetch-model.js';
import type { ModelCache } from '../../src/platform/browser/model-cache.js';
import { freePort } from '../helpers/process.js';

const BYTES = new Uint8Array(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 251));

/** An in-memory ModelCache with the same contract as the Cache API one. */
function memoryCache(): ModelCache & { store: Map<string, Uint8Array>; urls: Map<string, string> } {
  const store = new Map<string, Uint8Array>();
  const urls = new Map<string, string>();
  return {
    store,
    urls,
    get: async (sha) => store.get(sha),
    put: async (sha, bytes) => void store.set(sha, bytes),
    lookup: async (url) => urls.get(url),
    remember: async (url, sha) => void urls.set(url, sha),
  };
}

describe('browser model downloads', () => {
  let server: Server;
  let base: string;
  let hits = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      if (req.url === '/model.onnx')
        return res.writeHead(200, { 'content-length': String(BYTES.byteLength) }).end(BYTES);
      if (req.url === '/gzip.onnx') return res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(BYTES));
      if (req.url === '/busy') return res.writeHead(503).end('busy');
      if (req.url === '/forbidden') return res.writeHead(403).end('no');
      res.writeHead(404).end('not found');
    });
    // Keep idle connections open for the whole file: with Node's 5 s default, a slow machine can see the server
    // close a socket just as fetch reuses it, which fails a request for reasons that have nothing to do with it.
    server.keepAliveTimeout = 120_000;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );

  it('reports progress from 0 to the Content-Length', async () => {
    const events: DownloadProgress[] = [];
    const bytes = await download(`${base}/model.onnx`, { onProgress: (p) => events.push(p) });
    expect(bytes).toEqual(BYTES);
    expect(events[0]).toEqual({ url: `${base}/model.onnx`, loaded: 0, total: BYTES.byteLength, cached: false });
    expect(events.at(-1)).toEqual({
      url: `${base}/model.onnx`,
      loaded: BYTES.byteLength,
      total: BYTES.byteLength,
      cached: false,
    });
  });

  it('leaves the total out for a compressed body, whose Content-Length is not the decoded size', async () => {
    const events: DownloadProgress[] = [];
    expect(await download(`${base}/gzip.onnx`, { onProgress: (p) => events.push(p) })).toEqual(BYTES);
    expect(events.every((e) => e.total === undefined)).toBe(true);
    expect(events.at(-1)?.loaded).toBe(BYTES.byteLength);
  });

  it('maps HTTP and network failures to modelship codes', async () => {
    await expect(download(`${base}/missing.onnx`)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', httpStatus: 404 });
    await expect(download(`${base}/busy`)).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE', retryable: true });
    await expect(download(`${base}/forbidden`)).rejects.toMatchObject({
      code: 'MODEL_LOAD_FAILED',
      details: { status: 403 },
    });
    await expect(download(`http://127.0.0.1:${await freePort()}/model.onnx`)).rejects.toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
      message: expect.stringContaining('ECONNREFUSED'),
    });
    await expect(download(`${base}/model.onnx`, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ABORTED',
    });
  });

  it('caches by sha256, remembers the URL, and serves the next load without a request', async () => {
    const cache = memoryCache();
    const sha = await sha256Hex(BYTES);
    const url = `${base}/model.onnx`;
    await fetchModel(url, { cache });
    expect([...cache.store.keys()]).toEqual([sha]);
    expect(cache.urls.get(url)).toBe(sha);
    const before = hits;
    const events: DownloadProgress[] = [];
    expect(await fetchModel(url, { cache, onProgress: (p) => events.push(p) })).toEqual(BYTES);
    expect(hits).toBe(before);
    expect(events).toEqual([{ url, loaded: BYTES.byteLength, total: BYTES.byteLength, cached: true }]);
    // A pinned sha256 finds the entry whatever URL it is asked under.
    expect(await fetchModel(`${base}/elsewhere.onnx`, { cache, sha256: sha.toUpperCase() })).toEqual(BYTES);
    expect(hits).toBe(before);
  });

  it('refuses a download that does not match the pinned sha256 and stores nothing', async () => {
    const cache = memoryCache();
    await expect(fetchModel(`${base}/model.onnx`, { cache, sha256: '0'.repeat(64) })).rejects.toMatchObject({
      code: 'INTEGRITY_MISMATCH',
    });
    expect(cache.store.size).toBe(0);
    expect(cache.urls.size).toBe(0);
  });

  it('still loads when the cache cannot store (quota), and says why', async () => {
    const cache = memoryCache();
    cache.put = async () => {
      throw new DOMException('Quota exceeded', 'QuotaExceededError');
    };
    const problems: unknown[] = [];
    expect(await fetchModel(`${base}/model.onnx`, { cache, onCacheError: (e) => problems.push(e) })).toEqual(BYTES);
    expect(problems).toHaveLength(1);
  });
});
