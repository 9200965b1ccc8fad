import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { detectUnresolvedPointer, unresolvedPointerError } from '../../core/lfs-pointer.js';
import { ModelshipError } from '../../errors/index.js';

// One read call stays well under the 2 GiB a single read may return.
const READ_CHUNK = 64 * 1024 * 1024;

/** A file opened for reading that is known to be a regular file, with its size at open time. */
export interface RegularFile {
  readonly handle: FileHandle;
  readonly size: number;
}

/**
 * Opens `path` for reading and checks, on the opened descriptor, that it is a regular file: devices (`/dev/zero`),
 * FIFOs and sockets never end or block, and a symlink to one looks like any other path. Opened non-blocking so a
 * FIFO cannot hang the open itself. Rejects with the raw errno error for a missing path or a directory
 * (`EISDIR`), and with `notRegular()` for anything else that is not a regular file.
 */
export async function openRegularFile(path: string, notRegular: () => ModelshipError): Promise<RegularFile> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${path}'`), { code: 'EISDIR' });
    if (!info.isFile()) throw notRegular();
    return { handle, size: info.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Reads at most `max` bytes (the file's size at open time when smaller) from an opened regular file, so a file that
 * grows while it is read, or is larger than announced, is never read past what the caller allowed.
 */
export async function readAtMost(file: RegularFile, max: number): Promise<Uint8Array> {
  const want = Math.min(file.size, max);
  const out = new Uint8Array(want);
  let filled = 0;
  while (filled < want) {
    const { bytesRead } = await file.handle.read(out, filled, Math.min(READ_CHUNK, want - filled), filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === want ? out : out.subarray(0, filled);
}

/** At most the first `max` bytes of a regular file: for small side files (pointers, `.dvc` files) that must stay small. */
export async function readSmallFile(path: string, max: number): Promise<Uint8Array> {
  const file = await openRegularFile(path, () => new ModelshipError('MODEL_LOAD_FAILED', `${path} is not a regular file.`));
  try {
    return await readAtMost(file, max);
  } finally {
    await file.handle.close();
  }
}

/**
 * Reads a model file given as a path or `file:` URL; a missing file is MODEL_NOT_FOUND, not a raw ENOENT. Only
 * regular files are read (MODEL_LOAD_FAILED for a device, FIFO or socket), and never past the size they had when
 * opened.
 */
export async function readModelFile(pathOrUrl: string): Promise<Uint8Array> {
  const path = pathOrUrl.startsWith('file:') ? fileURLToPath(pathOrUrl) : pathOrUrl;
  try {
    const file = await openRegularFile(
      path,
      () => new ModelshipError('MODEL_LOAD_FAILED', `${path} is not a regular file (a device, FIFO or socket); copy the model into a file and load that.`),
    );
    try {
      return await readAtMost(file, file.size);
    } finally {
      await file.handle.close();
    }
  } catch (cause) {
    if (ModelshipError.isInstance(cause)) throw cause;
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      // A DVC-tracked file that was never pulled leaves only its .dvc file behind.
      const dvc = await readSmallFile(`${path}.dvc`, 64 * 1024).catch(() => undefined);
      if (dvc !== undefined) throw unresolvedPointerError(path, detectUnresolvedPointer(dvc) ?? { kind: 'dvc' });
      throw new ModelshipError('MODEL_NOT_FOUND', `No model file at ${path}. Check the path (it is resolved from ${process.cwd()}).`, { cause });
    }
    if (code === 'EISDIR') {
      throw new ModelshipError('MODEL_NOT_FOUND', `${path} is a directory; point at the .onnx file inside it.`, { cause });
    }
    throw new ModelshipError('MODEL_LOAD_FAILED', `Could not read ${path}: ${(cause as Error).message}`, { cause });
  }
}
