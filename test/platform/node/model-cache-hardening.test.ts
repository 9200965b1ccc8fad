import { createHash } from 'node:crypto';
import { open, readFile, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, type Logger } from '../../../src/core/logger.js';
import { ModelshipError } from '../../../src/errors/index.js';
import { loadModel } from '../../../src/node.js';
import { createHttpRegistry, writeHttpRegistryIndex } from '../../../src/registries/http/index.js';
import { createLocalRegistry } from '../../../src/registries/local/index.js';
import { addOneModel, tempDir } from '../../helpers/models.js';
import { FileTestServer } from '../../servers/http/file-server.js';

const fast = { retries: 1, retryDelayMs: 1, maxRetryDelayMs: 2, timeoutMs: 10_000 };
const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** A logger that keeps its warnings. */
function recording(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...silentLogger, warnings, warn: (message: string) => void warnings.push(message) };
}

async function flipByte(path: string, at: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0] = (byte[0] as number) ^ 0xff;
    await handle.write(byte, 0, 1, at);
  } finally {
    await handle.close();
  }
}

describe('a damaged blob in the model cache', () => {
  let root: string;
  let cacheDir: string;
  let server: FileTestServer;
  let expected: string;
  let blob: string;
  const registry = () => createHttpRegistry({ baseUrl: server.url, cacheDir, ...fast });

  async function load(logger: Logger = silentLogger): Promise<void> {
    const model = await loadModel('addone/1', { registry: registry(), logger, warmup: false });
    expect(model.sha256).toBe(expected);
    await model.close();
  }

  beforeAll(async () => {
    root = await tempDir();
    cacheDir = await tempDir();
    const bytes = addOneModel();
    await createLocalRegistry({ root }).publish({ name: 'addone', bytes });
    await writeHttpRegistryIndex({ root });
    server = new FileTestServer(root);
    await server.start();
    expected = sha(await readFile(join(root, 'addone', '1', 'model.onnx')));
    blob = join(cacheDir, 'blobs', 'sha256', expected);
    await load();
  });
  afterAll(async () => {
    await server.stop();
    await Promise.all([root, cacheDir].map((d) => rm(d, { recursive: true, force: true })));
  });

  for (const [label, damage] of [
    ['a flipped byte', () => flipByte(blob, 20)],
    ['a truncated copy', () => truncate(blob, 10)],
  ] as const) {
    it(`is dropped and downloaded again from the origin, with one warning (${label})`, async () => {
      await damage();
      const logger = recording();
      const downloads = server.requests.length;
      await load(logger);
      expect(logger.warnings).toHaveLength(1);
      expect(logger.warnings[0]).toMatch(/addone\/1 did not match its sha256 .* downloaded again/);
      expect(server.requests.slice(downloads).map((r) => r.path)).toContain('/addone/1/model.onnx');
      expect(sha(await readFile(blob))).toBe(expected);
      // Repaired for good: the next load neither warns nor downloads.
      const after = server.requests.length;
      const quiet = recording();
      await load(quiet);
      expect(quiet.warnings).toEqual([]);
      expect(server.requests.slice(after).map((r) => r.path)).not.toContain('/addone/1/model.onnx');
    });
  }

  it('is repaired the same way for a pinned URL reference', async () => {
    await flipByte(blob, 30);
    const logger = recording();
    const model = await loadModel(`${server.url}/addone/1/model.onnx#sha256=${expected}`, {
      cacheDir,
      logger,
      warmup: false,
    });
    expect(model.sha256).toBe(expected);
    await model.close();
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toMatch(/did not match its sha256 .* downloaded again/);
  });

  it('fails with a clear error when the origin is down, then heals once it is back', async () => {
    await flipByte(blob, 5);
    await server.stop();
    let error: unknown;
    try {
      await load();
    } catch (e) {
      error = e;
    }
    expect(ModelshipError.isInstance(error), String(error)).toBe(true);
    expect((error as ModelshipError).code).toBe('REGISTRY_UNAVAILABLE');
    expect((error as ModelshipError).message).toMatch(/cached copy of addone\/1 is damaged .* cannot be reached/);
    expect((error as ModelshipError).message).not.toContain(cacheDir);
    await server.start();
    await load();
    expect(sha(await readFile(blob))).toBe(expected);
  });
});
