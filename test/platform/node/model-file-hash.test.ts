/**
 * A model file's sha256 (read-model-file.ts) is remembered by the file's stat (device, inode, size, times) once
 * the file has settled, so a model loaded again is not hashed again. The hash must never be a stale one: real
 * files, changed in place at the same size, the way a careless `cp` over a served model does.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectModelFile } from '../../../src/platform/node/read-model-file.js';
import { tempDir } from '../../helpers/models.js';

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const bytes = (fill: number, size = 300_000): Uint8Array => new Uint8Array(size).fill(fill);

/** Rewrites the file's content in place (same inode, same size), then sets its modification time back. */
async function overwriteInPlace(path: string, content: Uint8Array, mtime: Date): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.write(content, 0, content.byteLength, 0);
  } finally {
    await handle.close();
  }
  await utimes(path, mtime, mtime);
}

describe('the sha256 of a model file', () => {
  it('is the new content’s after the file changed in place at the same size, even with its old mtime', async () => {
    const dir = await tempDir();
    const path = join(dir, 'model.onnx');
    const old = new Date(Date.now() - 60_000);
    await writeFile(path, bytes(1));
    await utimes(path, old, old);
    // Settled by its mtime, but its ctime is now: not remembered yet. Wait until it has settled by both.
    await new Promise((r) => setTimeout(r, 3_100));
    expect((await inspectModelFile(path)).sha256).toBe(sha(bytes(1)));
    expect((await inspectModelFile(path)).sha256).toBe(sha(bytes(1)));

    await overwriteInPlace(path, bytes(2), old);
    expect((await inspectModelFile(path)).sha256).toBe(sha(bytes(2)));

    // Another file renamed over it, with the same size and times: another inode.
    await new Promise((r) => setTimeout(r, 3_100));
    expect((await inspectModelFile(path)).sha256).toBe(sha(bytes(2)));
    const other = join(dir, 'other.onnx');
    await writeFile(other, bytes(3));
    await utimes(other, old, old);
    await rename(other, path);
    const renamed = await inspectModelFile(path);
    expect(renamed.sha256).toBe(sha(bytes(3)));
    expect(renamed.head).toEqual(bytes(3).subarray(0, renamed.head.byteLength));

    // Gone, or a directory now: the errors of a file never seen.
    await rm(path);
    await expect(inspectModelFile(path)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await mkdir(path);
    await expect(inspectModelFile(path)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  }, 15_000);

  it('is read afresh for a file that changed moments ago, however often it changes', async () => {
    const dir = await tempDir();
    const path = join(dir, 'model.onnx');
    const old = new Date(Date.now() - 60_000);
    await writeFile(path, bytes(1));
    for (let i = 1; i <= 5; i++) {
      await overwriteInPlace(path, bytes(i), old);
      expect((await inspectModelFile(path)).sha256).toBe(sha(bytes(i)));
    }
  });

  it('is the sha256 of each file when several are hashed at once', async () => {
    const dir = await tempDir();
    const files = await Promise.all(
      [3, 4, 5, 6].map(async (fill) => {
        const path = join(dir, `m${fill}.onnx`);
        await writeFile(path, bytes(fill, 200_000 + fill * 1000));
        return { path, fill };
      }),
    );
    const infos = await Promise.all(files.map((f) => inspectModelFile(f.path)));
    expect(infos.map((i) => i.sha256)).toEqual(files.map((f) => sha(bytes(f.fill, 200_000 + f.fill * 1000))));
  });
});
