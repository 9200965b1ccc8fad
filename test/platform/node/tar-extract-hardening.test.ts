import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelshipError } from '../../../src/errors/index.js';
import { createTarGz, tarHeader } from '../../../src/platform/node/tar-create.js';
import { extractTarGz, type ExtractLimits } from '../../../src/platform/node/tar-extract.js';
import { tempDir } from '../../helpers/models.js';

const MiB = 1024 * 1024;
const onnxOnly = (name: string): boolean => name.toLowerCase().endsWith('.onnx');

/** A pax extended header carrying `records` (`key=value`). */
function pax(records: string[]): Buffer[] {
  const body = Buffer.from(
    records.map((r) => `${Buffer.byteLength(r) + 3 + String(Buffer.byteLength(r) + 3).length - 1} ${r}\n`).join(''),
  );
  return [tarHeader('PaxHeader', body.length, 'x'), body, Buffer.alloc((512 - (body.length % 512)) % 512)];
}

/**
 * A `.tar.gz` with one entry declaring `size` bytes of zeros and no `.onnx` — built as a multi-member gzip (one member
 * compressed once, repeated), so neither the test nor anything else ever holds or writes the expanded bytes.
 */
function gzipBomb(size: number): Buffer {
  const block = gzipSync(Buffer.alloc(MiB), { level: 9 });
  const members = [gzipSync(tarHeader('zeros.bin', size))];
  for (let i = 0; i < size / MiB; i++) members.push(block);
  members.push(gzipSync(Buffer.alloc(1024)));
  return Buffer.concat(members);
}

/** Total bytes of the files under `dir`. */
async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

describe('extractTarGz against hostile archives', () => {
  let sandbox: string;
  let n = 0;
  beforeAll(async () => {
    sandbox = await tempDir();
  });
  afterAll(() => rm(sandbox, { recursive: true, force: true }));

  async function attempt(
    archive: Buffer,
    limits: ExtractLimits = {},
  ): Promise<{ error?: ModelshipError; files?: string[]; out: string }> {
    const root = join(sandbox, `case-${n++}`);
    const out = join(root, 'out');
    await mkdir(out, { recursive: true });
    await writeFile(join(root, 'model.tar.gz'), archive);
    try {
      const files = await extractTarGz(join(root, 'model.tar.gz'), out, limits, 'model.tar.gz');
      return { files: files.map((f) => f.name), out };
    } catch (error) {
      expect(ModelshipError.isInstance(error), String(error)).toBe(true);
      return { error: error as ModelshipError, out };
    }
  }

  it('refuses a gzip bomb (1.5 GiB of zeros, no .onnx) from its header, before writing any of it', async () => {
    const bomb = gzipBomb(1536 * MiB);
    expect(bomb.length).toBeLessThan(4 * MiB);
    const { error, out } = await attempt(bomb, { select: onnxOnly });
    expect(error?.code).toBe('ARCHIVE_REJECTED');
    expect(error?.message).toMatch(/times its size/);
    expect(error?.details?.entry).toBe('zeros.bin');
    expect(await bytesUnder(out)).toBe(0);
  });

  it('reads past the entries it does not load without writing them, and honours maxRatio', async () => {
    const model = { name: 'model/net.onnx', data: new TextEncoder().encode('onnx') };
    const archive = createTarGz([
      { name: 'code/inference.py', data: new Uint8Array(200_000).fill(120) },
      model,
      { name: 'data/x.bin', data: new Uint8Array(4096) },
    ]);
    const skipped: string[] = [];
    const { files, out } = await attempt(archive, { select: onnxOnly, onSkip: (name) => skipped.push(name) });
    expect(files).toEqual(['model/net.onnx']);
    expect(skipped).toEqual(['code/inference.py', 'data/x.bin']);
    expect(await bytesUnder(out)).toBe(4);
    // Under the 64 MiB floor no ratio is refused; past it the ratio applies. A tight maxBytes shows the declared
    // sizes are checked before data, for skipped entries too.
    const tight = await attempt(archive, { select: onnxOnly, maxBytes: 100_000 });
    expect(tight.error?.code).toBe('ARCHIVE_REJECTED');
    expect(tight.error?.details?.entry).toBe('code/inference.py');
    expect(await bytesUnder(tight.out)).toBe(0);
  });

  it('refuses name clashes and over-long names with ARCHIVE_REJECTED, not a raw EISDIR/EEXIST/ENAMETOOLONG', async () => {
    const data = new TextEncoder().encode('onnx');
    const cases: [string, Buffer, string][] = [
      [
        'same file twice',
        createTarGz([
          { name: 'm.onnx', data },
          { name: 'm.onnx', data },
        ]),
        'm.onnx',
      ],
      [
        'file then a file inside it',
        createTarGz([
          { name: 'a.onnx', data },
          { name: 'a.onnx/b.onnx', data },
        ]),
        'a.onnx/b.onnx',
      ],
      [
        'file inside then the parent as a file',
        createTarGz([
          { name: 'a.onnx/b.onnx', data },
          { name: 'a.onnx', data },
        ]),
        'a.onnx',
      ],
      ['a 300-byte component', createTarGz([{ name: `${'x'.repeat(300)}.onnx`, data }]), `${'x'.repeat(300)}.onnx`],
      ['a 2000-byte path', createTarGz([{ name: `${'d/'.repeat(1000)}m.onnx`, data }]), `${'d/'.repeat(1000)}m.onnx`],
    ];
    for (const [label, archive, entry] of cases) {
      const { error } = await attempt(archive);
      expect(error?.code, label).toBe('ARCHIVE_REJECTED');
      expect(error?.details?.entry, label).toBe(entry);
    }
  });

  it('refuses a pax size that is not plain decimal ("0x10")', async () => {
    for (const size of ['0x10', '1e1', ' 16', '16 ']) {
      const archive = gzipSync(
        Buffer.concat([...pax([`size=${size}`]), tarHeader('m.onnx', 0), Buffer.alloc(512, 0x41), Buffer.alloc(1024)]),
      );
      const { error } = await attempt(archive);
      expect(error?.code, size).toBe('ARCHIVE_REJECTED');
      expect(error?.message, size).toMatch(/size is invalid/);
    }
  });
});
