import { execFileSync } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/logger.js';
import { ModelshipError } from '../../../src/errors/index.js';
import { loadModel } from '../../../src/node.js';
import { createHttpRegistry, writeHttpRegistryIndex } from '../../../src/registries/http/index.js';
import { createLocalRegistry } from '../../../src/registries/local/index.js';
import { addOneModel, tempDir, tinyMnist } from '../../helpers/models.js';
import { FileTestServer } from '../../servers/http/file-server.js';

const fast = { retries: 1, retryDelayMs: 1, maxRetryDelayMs: 2, timeoutMs: 10_000 };

/** Mounts a 1 MiB tmpfs at `dir`; false (and the suite is skipped) where mounting is not allowed. */
function mountSmall(dir: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
    return true;
  } catch (error) {
    console.warn(
      `Skipping the disk-full tests: cannot mount a 1 MiB tmpfs (${(error as Error).message.split('\n')[0]}); they need root.`,
    );
    return false;
  }
}

/** Writes zeros into `path` until the filesystem is full. */
async function fill(path: string): Promise<void> {
  await writeFile(path, Buffer.alloc(2 * 1024 * 1024)).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOSPC') throw error;
  });
}

const mounted = { ok: false, dir: '' };
beforeAll(async () => {
  mounted.dir = await tempDir();
  mounted.ok = mountSmall(mounted.dir);
});
afterAll(async () => {
  if (mounted.ok) execFileSync('umount', [mounted.dir]);
  await rm(mounted.dir, { recursive: true, force: true });
});

describe('the model cache on a full disk', () => {
  let root: string | undefined;
  let server: FileTestServer | undefined;
  let cacheDir: string;
  const registry = () => createHttpRegistry({ baseUrl: (server as FileTestServer).url, cacheDir, ...fast });
  const load = async (ref: string): Promise<string> => {
    const model = await loadModel(ref, { registry: registry(), logger: silentLogger, warmup: false });
    await model.close();
    return model.sha256;
  };

  beforeAll(async () => {
    if (!mounted.ok) return;
    root = await tempDir();
    const local = createLocalRegistry({ root });
    await local.publish({ name: 'small', bytes: addOneModel() });
    // The MNIST model (~31 KiB) is the download that will not fit once the disk is full.
    await local.publish({ name: 'mnist', bytes: tinyMnist().onnx });
    await writeHttpRegistryIndex({ root });
    server = new FileTestServer(root);
    await server.start();
    cacheDir = join(mounted.dir, 'cache');
    await mkdir(cacheDir);
  });
  afterAll(async () => {
    await server?.stop();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it('fails a download that does not fit with a typed error, keeps what was cached, and succeeds once space is freed', async (context) => {
    if (!mounted.ok) return context.skip();
    const small = await load('small/1');
    const filler = join(mounted.dir, 'filler');
    await fill(filler);
    let error: unknown;
    try {
      await load('mnist/1');
    } catch (e) {
      error = e;
    }
    expect(ModelshipError.isInstance(error), String(error)).toBe(true);
    expect((error as ModelshipError).code).toBe('INTERNAL');
    expect((error as ModelshipError).message).toMatch(/out of disk space/i);
    expect((error as ModelshipError).message).not.toContain(mounted.dir);
    // Nothing half-written is left where a later load could find it.
    expect(await readdir(join(cacheDir, 'tmp'))).toEqual([]);
    expect(await readdir(join(cacheDir, 'blobs', 'sha256'))).toEqual([small]);
    // What was cached still loads, from the cache, on the full disk.
    await server?.stop();
    expect(await load('small/1')).toBe(small);
    await server?.start();
    await rm(filler);
    expect(await load('mnist/1')).toMatch(/^[0-9a-f]{64}$/);
    expect((await readdir(join(cacheDir, 'blobs', 'sha256'))).length).toBe(2);
  });
});
