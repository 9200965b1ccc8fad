import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { causeChain, ModelshipError } from '../../errors/index.js';

/** The sha256 (lower-case hex) and byte length of some content. */
export interface ContentDigest {
  readonly sha256: string;
  readonly size: number;
}

// Big enough to keep syscall overhead low on large models, small enough not to matter for memory.
const CHUNK = 1 << 20;

/**
 * Writes `data` to `path` so that readers see either the old content or the new one, never a torn file:
 * temp file in the same directory (rename is only atomic within one filesystem) → fsync → rename → fsync the
 * directory (so the rename itself survives a power loss).
 *
 * @example
 * ```ts
 * await writeFileAtomic('/models/mnist/aliases.json', JSON.stringify({ production: '3' }));
 * ```
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFileDurable(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
  await fsyncDir(dirname(path));
}

/**
 * Creates `path` (failing if it exists) with `data` and fsyncs it before resolving. Not atomic on its own:
 * use it for files inside a directory that is not visible to readers yet.
 */
export async function writeFileDurable(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Fsyncs a directory so that entries created, renamed or removed in it are durable. A no-op where the platform
 * cannot open directories for syncing (Windows), because there the rename is already as durable as it gets.
 */
export async function fsyncDir(path: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw error;
  } finally {
    await handle?.close();
  }
}

/**
 * Streams a file through sha256, so models of any size are hashed in constant memory.
 *
 * @example
 * ```ts
 * const { sha256, size } = await sha256File('./model.onnx');
 * ```
 */
export async function sha256File(path: string, signal?: AbortSignal): Promise<ContentDigest> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK, signal }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * Copies `source` to a new file `dest` (failing if it exists), hashing while copying so the file is read once,
 * and fsyncs `dest` before resolving. The digest describes the bytes actually written, which is what matters
 * if `source` changes during the copy.
 */
export async function copyFileHashed(source: string, dest: string, signal?: AbortSignal): Promise<ContentDigest> {
  const hash = createHash('sha256');
  let size = 0;
  const out = await open(dest, 'wx');
  try {
    for await (const chunk of createReadStream(source, { highWaterMark: CHUNK, signal }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      let offset = 0;
      // FileHandle.write may write fewer bytes than asked; loop rather than assume.
      while (offset < chunk.length) {
        const { bytesWritten } = await out.write(chunk, offset, chunk.length - offset);
        offset += bytesWritten;
      }
      size += chunk.length;
    }
    await out.sync();
  } finally {
    await out.close();
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * Reads and parses a JSON file. A missing file rejects with the usual `ENOENT` error so callers can treat
 * absence as they see fit; malformed JSON rejects with an `INTERNAL` ModelshipError naming the file instead of a
 * bare SyntaxError that would leave the user guessing which file is broken.
 */
export async function readJsonFile(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ModelshipError(
      'INTERNAL',
      `${path} is not valid JSON (${(error as Error).message}). Fix or restore the file; it may have been edited by hand.`,
      { cause: error, details: { file: path } },
    );
  }
}

/** The errno code (ENOSPC, EDQUOT) when `error` or one of its causes says the disk or quota is full. */
export function diskFullCode(error: unknown): string | undefined {
  for (const e of causeChain(error)) if (hasErrnoCode(e, 'ENOSPC', 'EDQUOT')) return e.code as string;
  return undefined;
}

/** True when `error` is a Node.js filesystem error with one of the given codes. */
export function hasErrnoCode(error: unknown, ...codes: string[]): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && codes.includes(code);
}
