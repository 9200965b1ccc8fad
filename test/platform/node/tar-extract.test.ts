import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelshipError } from '../../../src/errors/index.js';
import { createTarGz, type TarEntry } from '../../../src/platform/node/tar-create.js';
import { extractTarGz } from '../../../src/platform/node/tar-extract.js';
import { tempDir } from '../../helpers/models.js';

const onnx = { name: 'model.onnx', data: new TextEncoder().encode('onnx bytes') };

describe('extractTarGz', () => {
  let sandbox: string;
  let n = 0;
  beforeAll(async () => {
    sandbox = await tempDir();
  });
  afterAll(() => rm(sandbox, { recursive: true, force: true }));

  /** Extracts into `<case>/out`; returns the error (or files) and what `<case>` holds afterwards. */
  async function attempt(
    archive: Buffer,
    limits = {},
  ): Promise<{ error?: ModelshipError; files?: string[]; left: string[] }> {
    const root = join(sandbox, `case-${n++}`);
    const out = join(root, 'out');
    await mkdir(out, { recursive: true });
    await writeFile(join(root, 'model.tar.gz'), archive);
    try {
      const files = await extractTarGz(join(root, 'model.tar.gz'), out, limits, 'model.tar.gz');
      return { files: files.map((f) => f.name), left: await readdir(root, { recursive: true }) };
    } catch (error) {
      expect(ModelshipError.isInstance(error), String(error)).toBe(true);
      return { error: error as ModelshipError, left: (await readdir(root)).sort() };
    }
  }

  const refused = async (entries: TarEntry[], entry: string | undefined, why: RegExp): Promise<void> => {
    const { error, left } = await attempt(createTarGz(entries));
    expect(error?.code).toBe('ARCHIVE_REJECTED');
    expect(error?.message).toMatch(why);
    if (entry !== undefined) expect(error?.details?.entry).toBe(entry);
    // Nothing landed beside the target folder.
    expect(left).toEqual(['model.tar.gz', 'out']);
  };

  it('extracts regular files, directories, long (pax) names and in-archive links', async () => {
    const long = `${'deep/'.repeat(30)}net.onnx`;
    const { files } = await attempt(
      createTarGz([
        { name: 'model/', type: '5' },
        { name: 'model/net.onnx', data: onnx.data },
        { name: long, data: onnx.data },
        { name: 'model/alias.onnx', type: '2', linkname: 'net.onnx' },
      ]),
    );
    expect(files).toEqual(['model/net.onnx', long]);
  });

  it('refuses a ".." path traversal', () =>
    refused([onnx, { name: 'model/../../evil.onnx', data: onnx.data }], 'model/../../evil.onnx', /"\.\." segment/));

  it('refuses an absolute path, and writes nothing there', async () => {
    const target = join(sandbox, 'absolute-target', 'evil.onnx');
    await refused([{ name: target, data: onnx.data }], target, /absolute/);
    await expect(readFile(target)).rejects.toThrow(/ENOENT/);
  });

  it('refuses symbolic and hard links that lead outside', async () => {
    await refused([{ name: 'model/link', type: '2', linkname: '../../../etc' }], 'model/link', /outside/);
    await refused([{ name: 'link', type: '2', linkname: '/etc/passwd' }], 'link', /absolute/);
    await refused([{ name: 'hard', type: '1', linkname: '../outside.onnx' }], 'hard', /outside/);
  });

  it('refuses device files and FIFOs', async () => {
    await refused([{ name: 'dev/sda', type: '4' }], 'dev/sda', /block device/);
    await refused([{ name: 'tty', type: '3' }], 'tty', /character device/);
    await refused([{ name: 'pipe', type: '6' }], 'pipe', /FIFO/);
  });

  it('refuses a 10k-entry bomb and an oversized archive', async () => {
    // In-archive links count as entries but write nothing, so the cap is reached without 10k files of disk churn.
    const many = Array.from({ length: 10_001 }, (_, i) => ({ name: `f/${i}`, type: '2', linkname: 'x' }));
    const { error, left } = await attempt(createTarGz(many));
    expect(error?.code).toBe('ARCHIVE_REJECTED');
    expect(error?.message).toMatch(/more than 10000 entries/);
    expect(error?.details?.entry).toBe('f/10000');
    expect(left).toEqual(['model.tar.gz', 'out']);
    const big = await attempt(createTarGz([onnx, { name: 'weights.bin', data: new Uint8Array(4096) }]), {
      maxBytes: 1024,
    });
    expect(big.error?.code).toBe('ARCHIVE_REJECTED');
    expect(big.error?.details?.entry).toBe('weights.bin');
  });

  it('refuses a truncated gzip and a file that is not a tar', async () => {
    const whole = createTarGz([
      onnx,
      { name: 'weights.bin', data: new Uint8Array(64 * 1024).map((_, i) => (i * 7919) % 251) },
    ]);
    const truncated = await attempt(whole.subarray(0, Math.floor(whole.length / 2)));
    expect(truncated.error?.code).toBe('ARCHIVE_REJECTED');
    expect(truncated.error?.message).toMatch(/truncated|corrupt/);
    const plain = await attempt(Buffer.from('not gzip at all'));
    expect(plain.error?.code).toBe('ARCHIVE_REJECTED');
    const { gzipSync } = await import('node:zlib');
    const notTar = await attempt(gzipSync(Buffer.alloc(1024, 0x41)));
    expect(notTar.error?.code).toBe('ARCHIVE_REJECTED');
    expect(notTar.error?.message).toMatch(/checksum/);
  });
});
