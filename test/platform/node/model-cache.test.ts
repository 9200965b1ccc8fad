import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCacheDir } from '../../../src/platform/node/cache/cache-dir.js';
import { createModelCache } from '../../../src/platform/node/cache/model-cache.js';
import { tempDir } from '../../helpers/models.js';
import { FileTestServer } from '../../servers/http/file-server.js';

const run = promisify(execFile);
const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const worker = fileURLToPath(new URL('./fixtures/cache-worker.ts', import.meta.url));

function blobOf(bytes: Uint8Array) {
  return { key: `k ${sha(bytes)}`, url: 'https://example.test/m.onnx', fill: (temp: string) => writeFile(temp, bytes) };
}

describe('the model cache', () => {
  let server: FileTestServer;
  let root: string;
  beforeAll(async () => {
    root = await tempDir();
    await writeFile(join(root, 'big.onnx'), Buffer.alloc(4 * 1024 * 1024, 7));
    server = new FileTestServer(root);
    await server.start();
  });
  afterAll(() => server.stop());

  it('finds its root in options, $MODELSHIP_CACHE_DIR, $XDG_CACHE_HOME, then ~/.cache', () => {
    expect(defaultCacheDir('/x/c', {})).toBe('/x/c');
    expect(defaultCacheDir(undefined, { MODELSHIP_CACHE_DIR: '/m' })).toBe('/m');
    expect(defaultCacheDir(undefined, { XDG_CACHE_HOME: '/xdg' })).toBe('/xdg/modelship');
    expect(defaultCacheDir(undefined, {})).toMatch(/\.cache\/modelship$/);
  });

  it('evicts least recently used blobs past maxBytes, never one in use', async () => {
    const cache = createModelCache({ dir: await tempDir(), maxBytes: 250 });
    const [a, b, c] = [Buffer.alloc(100, 1), Buffer.alloc(100, 2), Buffer.alloc(100, 3)];
    const held = await cache.obtain(blobOf(a)); // stays pinned
    (await cache.obtain(blobOf(b))).release();
    const third = await cache.obtain(blobOf(c)); // over budget: b goes, a is in use
    expect(await cache.open(sha(b))).toBeUndefined();
    expect((await cache.usage()).blobs).toBe(2);
    held.release();
    third.release();
    (await cache.obtain(blobOf(b))).release(); // now a is the least recently used and free
    expect(await cache.open(sha(a))).toBeUndefined();
    expect(new Set(await readdir(join(cache.root, 'blobs', 'sha256')))).toEqual(new Set([sha(b), sha(c)]));
  });

  it('verifies digests and leaves nothing behind on a mismatch', async () => {
    const cache = createModelCache({ dir: await tempDir() });
    const bytes = Buffer.from('content');
    await expect(cache.obtain({ ...blobOf(bytes), sha256: 'f'.repeat(64) })).rejects.toMatchObject({
      code: 'INTEGRITY_MISMATCH',
    });
    await expect(cache.obtain({ ...blobOf(bytes), size: 3 })).rejects.toMatchObject({ code: 'INTEGRITY_MISMATCH' });
    expect(await readdir(join(cache.root, 'tmp'))).toEqual([]);
    expect(await readdir(join(cache.root, 'blobs', 'sha256')).catch(() => [])).toEqual([]);
  });

  it('two processes pulling the same model at once end with one good blob', async () => {
    const cacheDir = await tempDir();
    const url = `${server.url}/big.onnx`;
    const results = await Promise.all(
      [0, 1].map(() => run(process.execPath, ['--import', 'tsx', worker, cacheDir, url], { cwd: repoRoot })),
    );
    const expected = sha(await readFile(join(root, 'big.onnx')));
    expect(results.map((r) => r.stdout.trim())).toEqual([expected, expected]);
    expect(await readdir(join(cacheDir, 'blobs', 'sha256'))).toEqual([expected]);
    expect(sha(await readFile(join(cacheDir, 'blobs', 'sha256', expected)))).toBe(expected);
    expect(await readdir(join(cacheDir, 'tmp'))).toEqual([]);
    expect(await readdir(join(cacheDir, 'leases')).catch(() => [])).toEqual([]);
  });
});
