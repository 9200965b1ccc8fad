/**
 * Failure tests for models loaded from a URL or a remote registry. Each one checks that a model already loaded
 * keeps serving and that nothing half-written stays in the cache (no temp files, every blob named by its sha256).
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMlflowRegistry, loadModel, silentLogger, type Model } from 'modelship';
import type { DownloadProgress, RegistryWarning } from '../../src/spec/registry.js';
import { addOneModel, tempDir, tinyMnist } from '../helpers/models.js';
import { FileTestServer } from '../servers/http/file-server.js';
import { MlflowTestServer } from '../servers/mlflow/server.js';
import { rejection } from '../helpers/errors.js';

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const fast = { logger: silentLogger };

/** Nothing half-written: the temp area is empty and every blob's name is the sha256 of its content. */
async function expectCacheClean(cacheDir: string): Promise<void> {
  expect(await readdir(join(cacheDir, 'tmp')).catch(() => [])).toEqual([]);
  for (const name of await readdir(join(cacheDir, 'blobs', 'sha256')).catch(() => [] as string[])) {
    expect(sha(await readFile(join(cacheDir, 'blobs', 'sha256', name)))).toBe(name);
  }
}

describe('models from URLs', () => {
  let root: string;
  let server: FileTestServer;
  let cacheDir: string;
  let serving: Model;
  const mnist = tinyMnist().onnx;
  const digit = Array.from(tinyMnist().test.images.subarray(0, 784));

  beforeAll(async () => {
    root = await tempDir();
    await writeFile(join(root, 'mnist.onnx'), mnist);
    await writeFile(join(root, 'adder.onnx'), addOneModel());
    server = new FileTestServer(root);
    await server.start();
    // The "old model" every failure test checks is still serving.
    serving = await loadModel(addOneModel(), fast);
    await serving.ready();
  });
  afterAll(async () => {
    await serving.close();
    await server.stop();
  });
  beforeEach(async () => {
    cacheDir = await tempDir();
    server.requests.length = 0;
    server.faults.clear();
    server.ignoreRange = false;
    server.authorization = undefined;
  });

  async function stillServing(): Promise<void> {
    expect((await serving.predict([[1, 2, 3, 4]])).y?.toArray()).toEqual([[2, 3, 4, 5]]);
    await expectCacheClean(cacheDir);
  }

  it('loads https?://…#sha256=…, reports progress, and reuses the cached blob without a request', async () => {
    const progress: DownloadProgress[] = [];
    const url = `${server.url}/mnist.onnx#sha256=${sha(mnist)}`;
    const model = await loadModel(url, { ...fast, cacheDir, onProgress: (p) => progress.push(p) });
    expect([model.name, model.sha256, model.source]).toEqual([
      'mnist',
      sha(mnist),
      { ref: `${server.url}/mnist.onnx`, registry: 'url' },
    ]);
    expect((await model.predict([digit])).label?.toArray()).toHaveLength(1);
    expect(progress.at(-1)).toEqual({
      url: `${server.url}/mnist.onnx`,
      loaded: mnist.byteLength,
      total: mnist.byteLength,
    });
    await model.close();
    const again = await loadModel(url, { ...fast, cacheDir });
    expect(server.requests).toHaveLength(1);
    await again.close();
    await stillServing();
  });

  it('shares one download between concurrent loads of the same URL', async () => {
    const url = `${server.url}/adder.onnx`;
    const models = await Promise.all(
      Array.from({ length: 4 }, () => loadModel(url, { ...fast, cacheDir, warmup: false })),
    );
    expect(server.requests.filter((r) => r.path === '/adder.onnx')).toHaveLength(1);
    await Promise.all(models.map((m) => m.close()));
    await stillServing();
  });

  it('resumes with Range after the connection drops mid-download', async () => {
    server.fail('/mnist.onnx', { kind: 'drop', after: 3000 });
    const model = await loadModel(`${server.url}/mnist.onnx#sha256=${sha(mnist)}`, { ...fast, cacheDir });
    expect(server.requests.map((r) => r.range)).toEqual([undefined, 'bytes=3000-']);
    expect(model.sha256).toBe(sha(mnist));
    await model.close();
    await stillServing();
  });

  it('resumes after a truncated body, and starts over when the server ignores Range (answers 200)', async () => {
    server.fail('/mnist.onnx', { kind: 'truncate', after: 5000 });
    const resumed = await loadModel(`${server.url}/mnist.onnx`, { ...fast, cacheDir });
    expect(server.requests.map((r) => r.range)).toEqual([undefined, 'bytes=5000-']);
    await resumed.close();
    const other = await tempDir();
    server.requests.length = 0;
    server.ignoreRange = true;
    server.fail('/mnist.onnx', { kind: 'drop', after: 5000 });
    const restarted = await loadModel(`${server.url}/mnist.onnx#sha256=${sha(mnist)}`, { ...fast, cacheDir: other });
    expect(server.requests.map((r) => r.range)).toEqual([undefined, 'bytes=5000-']);
    expect(restarted.sha256).toBe(sha(mnist));
    await restarted.close();
    await expectCacheClean(other);
    await stillServing();
  });

  it('retries a 500 and then succeeds', async () => {
    server.fail('/adder.onnx', { kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    const model = await loadModel(`${server.url}/adder.onnx`, { ...fast, cacheDir, warmup: false });
    expect(server.requests).toHaveLength(3);
    await model.close();
    await stillServing();
  });

  it('discards a download whose digest does not match (INTEGRITY_MISMATCH)', async () => {
    const e = await rejection(loadModel(`${server.url}/mnist.onnx#sha256=${'0'.repeat(64)}`, { ...fast, cacheDir }));
    expect(e.code).toBe('INTEGRITY_MISMATCH');
    expect(await readdir(join(cacheDir, 'blobs', 'sha256')).catch(() => [])).toEqual([]);
    await stillServing();
  });

  it('maps 401 and 404 without leaking query strings or credentials', async () => {
    server.authorization = 'Bearer right';
    const denied = await rejection(
      loadModel(`${server.url}/mnist.onnx?X-Amz-Signature=topsecret`, { ...fast, cacheDir }),
    );
    expect(denied.code).toBe('REGISTRY_AUTH_FAILED');
    expect(denied.message).not.toContain('topsecret');
    server.authorization = undefined;
    const missing = await rejection(loadModel(`${server.url}/nope.onnx?token=topsecret`, { ...fast, cacheDir }));
    expect(missing.code).toBe('MODEL_NOT_FOUND');
    expect(missing.message).toContain(`${server.url}/nope.onnx`);
    expect(missing.message).not.toContain('topsecret');
    await stillServing();
  });

  it('refuses a 2 GiB Content-Length over the limit before downloading it', async () => {
    server.fail('/mnist.onnx', { kind: 'huge', length: 2 * 1024 ** 3 });
    const progress: DownloadProgress[] = [];
    const e = await rejection(
      loadModel(`${server.url}/mnist.onnx`, {
        ...fast,
        cacheDir,
        maxDownloadBytes: 1024 ** 3,
        onProgress: (p) => progress.push(p),
      }),
    );
    expect(e.code).toBe('DOWNLOAD_TOO_LARGE');
    expect(e.details).toMatchObject({ size: 2 * 1024 ** 3, maxBytes: 1024 ** 3 });
    expect(progress).toEqual([]);
    // And a server that streams more than the limit without announcing it is cut off while streaming.
    const streamed = await rejection(
      loadModel(`${server.url}/mnist.onnx`, { ...fast, cacheDir, maxDownloadBytes: 1000 }),
    );
    expect(streamed.code).toBe('DOWNLOAD_TOO_LARGE');
    await stillServing();
  });

  it('falls back to the last download when the host is down, and fails with nothing cached', async () => {
    const down = new FileTestServer(root);
    const base = await down.start();
    const first = await loadModel(`${base}/adder.onnx`, { ...fast, cacheDir, warmup: false });
    await first.close();
    await down.stop();
    const warnings: RegistryWarning[] = [];
    const offline = await loadModel(`${base}/adder.onnx`, {
      ...fast,
      cacheDir,
      warmup: false,
      onWarning: (w) => warnings.push(w),
    });
    expect(offline.sha256).toBe(sha(addOneModel()));
    expect(warnings.map((w) => w.code)).toEqual(['REGISTRY_OFFLINE']);
    await offline.close();
    const e = await rejection(loadModel(`${base}/mnist.onnx`, { ...fast, cacheDir }));
    expect([e.code, e.retryable]).toEqual(['REGISTRY_UNAVAILABLE', true]);
    await stillServing();
  });
});

describe('loadModel with the MLflow registry', () => {
  it('serves models:/mnist@production from MLflow, and again after the server is stopped', async () => {
    const server = new MlflowTestServer();
    const trackingUri = await server.start();
    const cacheDir = await tempDir();
    const registry = createMlflowRegistry({ trackingUri, cacheDir, retries: 1, retryDelayMs: 1 });
    await registry.publish({
      name: 'mnist',
      bytes: tinyMnist().onnx,
      aliases: ['production'],
      metadata: { accuracy: tinyMnist().accuracy },
    });
    const digit = Array.from(tinyMnist().test.images.subarray(0, 784));
    const online = await loadModel('models:/mnist@production', { registry, ...fast });
    const expected = (await online.predict([digit])).label?.toArray();
    expect([online.name, online.version, online.source.registry]).toEqual(['mnist', '1', 'mlflow']);
    await online.close();

    await server.stop();
    const warnings: RegistryWarning[] = [];
    const restarted = createMlflowRegistry({ trackingUri, cacheDir, retries: 1, retryDelayMs: 1 });
    const offline = await loadModel('models:/mnist@production', {
      registry: restarted,
      ...fast,
      onWarning: (w) => warnings.push(w),
    });
    expect([offline.version, offline.sha256]).toEqual(['1', online.sha256]);
    expect((await offline.predict([digit])).label?.toArray()).toEqual(expected);
    expect(warnings[0]?.message).toMatch(/unreachable/);
    await offline.close();
    const e = await rejection(loadModel('models:/mnist/2', { registry: restarted, ...fast }));
    expect(e.code).toBe('REGISTRY_UNAVAILABLE');
    await mkdir(cacheDir, { recursive: true });
    await expectCacheClean(cacheDir);
  });
});
