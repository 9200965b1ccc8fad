/**
 * Models on disk (a cached download, a registry's file, a local path) reach the backend as `{ path, sha256 }`:
 * verified once on the loading thread without reading them whole, opened by each worker itself, and kept in the
 * cache (leased) until the model is closed, because a crashed worker's replacement opens the path again.
 */
import { createHash } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLocalRegistry, silentLogger } from 'modelship';
import { createOnnxNodeBackend } from '../../src/backends/onnx-node/index.js';
import type { WorkerPoolSession } from '../../src/backends/onnx-node/worker-pool.js';
import { createModelCache } from '../../src/platform/node/cache/model-cache.js';
import { loadModelWith, type ServingRuntime } from '../../src/serving/load-model.js';
import { nodeRuntime } from '../../src/serving/node-runtime.js';
import type { BackendEvent, BackendSession, ModelSource } from '../../src/spec/backend.js';
import { addOneModel, tempDir, tempFile, tinyMnist } from '../helpers/models.js';
import { rejection } from '../helpers/errors.js';
import { FileTestServer } from '../servers/http/file-server.js';

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const fast = { logger: silentLogger };

/** The Node runtime with a backend that records what it is given, and a `readFile` that counts its calls. */
function spied(): {
  runtime: ServingRuntime;
  sources: ModelSource[];
  sessions: BackendSession[];
  events: BackendEvent[];
  reads: string[];
} {
  const real = createOnnxNodeBackend();
  const sources: ModelSource[] = [];
  const sessions: BackendSession[] = [];
  const events: BackendEvent[] = [];
  const reads: string[] = [];
  const backend = {
    ...real,
    async createSession(source: ModelSource, options: Parameters<typeof real.createSession>[1] = {}) {
      sources.push(source);
      const session = await real.createSession(source, {
        ...options,
        onEvent: (e) => (events.push(e), options.onEvent?.(e)),
      });
      sessions.push(session);
      return session;
    },
  };
  const runtime: ServingRuntime = {
    ...nodeRuntime,
    backend: async () => backend,
    readFile: (path) => (reads.push(path), nodeRuntime.readFile(path)),
  };
  return { runtime, sources, sessions, events, reads };
}

async function leasesOf(cacheDir: string, digest: string): Promise<string[]> {
  return (await readdir(join(cacheDir, 'leases')).catch(() => [] as string[])).filter((n) => n.startsWith(digest));
}

describe('loading models by path', () => {
  let server: FileTestServer;
  let cacheDir: string;
  const mnist = tinyMnist().onnx;
  const digit = Array.from(tinyMnist().test.images.subarray(0, 784));

  beforeAll(async () => {
    const root = await tempDir();
    await writeFile(join(root, 'mnist.onnx'), mnist);
    await writeFile(join(root, 'garbage.onnx'), new Uint8Array(4096).fill(7));
    server = new FileTestServer(root);
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(async () => {
    cacheDir = await tempDir();
  });

  it('gives the backend { path, sha256, size } for a cached download, a registry file and a local path, never the bytes', async () => {
    const { runtime, sources, reads } = spied();
    const registry = createLocalRegistry({ root: await tempDir() });
    await registry.publish({ name: 'adder', bytes: addOneModel() });
    const local = await tempFile(addOneModel(), 'adder.onnx');
    const models = [
      await loadModelWith(runtime, `${server.url}/mnist.onnx#sha256=${sha(mnist)}`, { ...fast, cacheDir, workers: 2 }),
      await loadModelWith(runtime, 'adder/1', { ...fast, registry, workers: 2 }),
      await loadModelWith(runtime, local, { ...fast, workers: 2 }),
    ];
    expect(reads).toEqual([]);
    expect(sources.map((s) => Object.keys(s).sort())).toEqual([
      ['path', 'sha256', 'size'],
      ['path', 'sha256', 'size'],
      ['path', 'sha256', 'size'],
    ]);
    expect(sources.map((s) => ('size' in s ? s.size : undefined))).toEqual([
      mnist.byteLength,
      addOneModel().byteLength,
      addOneModel().byteLength,
    ]);
    expect(sources.map((s) => ('sha256' in s ? s.sha256 : undefined))).toEqual([
      sha(mnist),
      sha(addOneModel()),
      sha(addOneModel()),
    ]);
    expect((sources[0] as { path: string }).path.startsWith(cacheDir)).toBe(true);
    expect(models.map((m) => [m.sha256, m.size])).toEqual([
      [sha(mnist), mnist.byteLength],
      [sha(addOneModel()), addOneModel().byteLength],
      [sha(addOneModel()), addOneModel().byteLength],
    ]);
    expect((await (models[0] as (typeof models)[0]).predict([digit])).label?.shape).toEqual([1]);
    expect((await (models[2] as (typeof models)[0]).predict([[1, 2, 3, 4]])).y?.toArray()).toEqual([[2, 3, 4, 5]]);
    await Promise.all(models.map((m) => m.close()));
  });

  it('runs a model loaded by path on the calling thread (workers: 0), and still takes bytes as bytes', async () => {
    const { runtime, sources } = spied();
    const onThread = await loadModelWith(runtime, await tempFile(addOneModel(), 'adder.onnx'), { ...fast, workers: 0 });
    const fromBytes = await loadModelWith(runtime, addOneModel(), { ...fast, workers: 2 });
    expect('path' in (sources[0] as ModelSource)).toBe(true);
    expect('bytes' in (sources[1] as ModelSource)).toBe(true);
    for (const model of [onThread, fromBytes])
      expect((await model.predict([[1, 2, 3, 4]])).y?.toArray()).toEqual([[2, 3, 4, 5]]);
    await Promise.all([onThread.close(), fromBytes.close()]);
  });

  it('keeps the cached file leased until close(): a crashed worker is replaced from it even past an eviction', async () => {
    const { runtime, sessions, events } = spied();
    const model = await loadModelWith(runtime, `${server.url}/mnist.onnx#sha256=${sha(mnist)}`, {
      ...fast,
      cacheDir,
      workers: 1,
    });
    await model.ready();
    expect(await leasesOf(cacheDir, sha(mnist))).toHaveLength(1);
    // A cache with no room left evicts everything it may: not the leased blob.
    const cache = createModelCache({ dir: cacheDir, maxBytes: 0 });
    expect(await cache.prune()).toEqual([]);
    const exited = (sessions[0] as WorkerPoolSession).crashWorkerForTesting(0);
    expect((await rejection(model.predict([digit]))).code).toBe('WORKER_CRASHED');
    expect(await exited).toBe(70);
    // The queued request is answered by the replacement, which loaded the model from the leased path.
    expect((await model.predict([digit])).label?.shape).toEqual([1]);
    expect(events.map((e) => e.type)).toEqual(['worker-crashed', 'worker-restarted']);
    await model.close();
    // The lease file is removed in the background once released.
    await vi.waitFor(async () => expect(await leasesOf(cacheDir, sha(mnist))).toEqual([]));
    expect((await cache.prune()).length).toBe(1);
  });

  it('drops the lease when the load fails, and names no cache path in the error', async () => {
    const { runtime } = spied();
    for (const workers of [0, 1]) {
      const e = await rejection(loadModelWith(runtime, `${server.url}/garbage.onnx`, { ...fast, cacheDir, workers }));
      expect(e.code).toBe('MODEL_LOAD_FAILED');
      expect(e.message).toContain('onnxruntime could not load the model');
      expect(e.message).not.toContain(cacheDir);
      expect(e.message).not.toContain('/tmp/');
    }
    await vi.waitFor(async () => expect(await readdir(join(cacheDir, 'leases')).catch(() => [])).toEqual([]));
  });

  it('refuses a file whose digest differs from the expected one before any session is created', async () => {
    const { runtime, sources } = spied();
    const e = await rejection(
      loadModelWith(runtime, await tempFile(addOneModel(), 'adder.onnx'), { ...fast, sha256: '0'.repeat(64) }),
    );
    expect(e.code).toBe('INTEGRITY_MISMATCH');
    expect(sources).toEqual([]);
  });
});
