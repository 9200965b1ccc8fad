import { createHash } from 'node:crypto';
import { constants, type BigIntStats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectUnresolvedPointer, unresolvedPointerError } from '../../core/lfs-pointer.js';
import { fileIdentity } from './file-identity.js';
import { ModelshipError } from '../../errors/index.js';

// One read call stays well under the 2 GiB a single read may return.
const READ_CHUNK = 64 * 1024 * 1024;

/** A file opened for reading that is known to be a regular file, with its size at open time. */
export interface RegularFile {
  readonly handle: FileHandle;
  readonly size: number;
  /**
   * Device, inode, size and change times at open time, when these last changed long enough ago that a later
   * change must show in them (see {@link SETTLED_MS}); undefined otherwise.
   */
  readonly identity?: string;
}

/**
 * How long ago a file must have last changed for its stat to identify its content: a filesystem stamps changes
 * with a coarse clock (a scheduler tick on Linux, 2 s on FAT), so two writes within one tick may leave the
 * same times. A file hashed after that long cannot change again without new times ("racy git" is the same
 * problem, solved the same way).
 */
const SETTLED_MS = 3000;

/** A file's {@link RegularFile.identity}, or undefined when it changed too recently to be identified by it. */
function settledIdentity(info: BigIntStats): string | undefined {
  const settled = Date.now() - Math.max(Number(info.mtimeMs), Number(info.ctimeMs)) > SETTLED_MS;
  return settled ? fileIdentity(info) : undefined;
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
    const info = await handle.stat({ bigint: true });
    if (info.isDirectory())
      throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${path}'`), { code: 'EISDIR' });
    if (!info.isFile()) throw notRegular();
    const identity = settledIdentity(info);
    return { handle, size: Number(info.size), ...(identity === undefined ? {} : { identity }) };
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
  const file = await openRegularFile(
    path,
    () => new ModelshipError('MODEL_LOAD_FAILED', `${path} is not a regular file.`),
  );
  try {
    return await readAtMost(file, max);
  } finally {
    await file.handle.close();
  }
}

/** What {@link inspectModelFile} found: enough to verify and load a model without holding its bytes. */
export interface ModelFileInfo {
  /** The absolute path (a `file:` URL resolved), which worker threads open themselves. */
  readonly path: string;
  readonly size: number;
  /** The first bytes (up to 1 KiB + 1): enough to recognize a Git LFS pointer or DVC metadata. */
  readonly head: Uint8Array;
  /** Lower-case hex sha256 of the content. */
  readonly sha256: string;
}

// Pointers are at most 1 KiB (core/lfs-pointer.ts); one byte more tells a longer file apart.
const HEAD_BYTES = 1025;
/**
 * Hashed in slices this big, each read awaited: one `update` blocks the event loop for about 0.1 ms, so the
 * models already serving keep answering while another one loads (a 1.6 MB model hashed in one piece blocked
 * it for 1.4 ms).
 */
const HASH_CHUNK = 128 * 1024;

/**
 * Opens a model file given as a path or `file:` URL, with the same checks and errors as {@link readModelFile}, and
 * calls `use` with it. Errors thrown by `use` that are not ModelshipErrors become MODEL_LOAD_FAILED too.
 */
async function withModelFile<T>(pathOrUrl: string, use: (file: RegularFile, path: string) => Promise<T>): Promise<T> {
  const path = toPath(pathOrUrl);
  try {
    const file = await openRegularFile(
      path,
      () =>
        new ModelshipError(
          'MODEL_LOAD_FAILED',
          `${path} is not a regular file (a device, FIFO or socket); copy the model into a file and load that.`,
        ),
    );
    try {
      return await use(file, path);
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
      throw new ModelshipError(
        'MODEL_NOT_FOUND',
        `No model file at ${path}. Check the path (it is resolved from ${process.cwd()}).`,
        { cause },
      );
    }
    if (code === 'EISDIR') {
      throw new ModelshipError('MODEL_NOT_FOUND', `${path} is a directory; point at the .onnx file inside it.`, {
        cause,
      });
    }
    throw new ModelshipError('MODEL_LOAD_FAILED', `Could not read ${path}: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Reads a model file given as a path or `file:` URL; a missing file is MODEL_NOT_FOUND, not a raw ENOENT. Only
 * regular files are read (MODEL_LOAD_FAILED for a device, FIFO or socket), and never past the size they had when
 * opened.
 */
export function readModelFile(pathOrUrl: string): Promise<Uint8Array> {
  return withModelFile(pathOrUrl, (file) => readAtMost(file, file.size));
}

/**
 * Checks a model file for loading by path, without reading it into memory: a regular file (same errors as
 * {@link readModelFile}), its first bytes, and its sha256 streamed up to the size it had when opened. `sha256` is
 * taken as given instead when the caller has just verified the content (the model cache).
 *
 * @example
 * ```ts
 * const { path, sha256, head } = await inspectModelFile('./model.onnx');
 * ```
 */
export async function inspectModelFile(pathOrUrl: string, sha256?: string): Promise<ModelFileInfo> {
  // A file inspected before and unchanged since: one stat instead of opening, reading and hashing it again
  // (tried only when some file is remembered: a first load pays no extra stat).
  const path = knownFiles.size > 0 ? localPath(pathOrUrl) : undefined;
  const info = path === undefined ? undefined : await stat(path, { bigint: true }).catch(() => undefined);
  const identity = info?.isFile() ? settledIdentity(info) : undefined;
  const known = identity === undefined ? undefined : recall(identity);
  if (path !== undefined && known !== undefined && (sha256 === undefined || sha256 === known.sha256))
    return { path: resolve(path), size: Number(info?.size), head: known.head.slice(), sha256: known.sha256 };
  return withModelFile(pathOrUrl, async (file, opened) => {
    const head = await readAtMost(file, HEAD_BYTES);
    const seen = file.identity === undefined ? undefined : recall(file.identity);
    const hash = sha256 ?? seen?.sha256 ?? (await hashAtMost(file));
    if (file.identity !== undefined && sha256 === undefined) remember(file.identity, { head, sha256: hash });
    return { path: resolve(opened), size: file.size, head, sha256: hash };
  });
}

/** The path a path or `file:` URL names (throws for a `file:` URL that names none). */
function toPath(pathOrUrl: string): string {
  return pathOrUrl.startsWith('file:') ? fileURLToPath(pathOrUrl) : pathOrUrl;
}

/** {@link toPath}, or undefined where it throws (withModelFile then says why). */
function localPath(pathOrUrl: string): string | undefined {
  try {
    return toPath(pathOrUrl);
  } catch {
    return undefined;
  }
}

/**
 * Model files inspected before, by {@link RegularFile.identity}, most recently used last: their first bytes and
 * sha256. A model loaded again (a repository reloading one it evicted, a hot swap back) is not opened, read and
 * hashed again while its file is unchanged. Hashing a 1.6 MB model takes 1.2 ms of the event loop in 13 slices,
 * and each file operation wakes a thread-pool thread, which the models serving meanwhile wait through.
 */
const knownFiles = new Map<string, { readonly head: Uint8Array; readonly sha256: string }>();
const MAX_KNOWN_FILES = 256;

function recall(identity: string): { readonly head: Uint8Array; readonly sha256: string } | undefined {
  const known = knownFiles.get(identity);
  if (known !== undefined) {
    knownFiles.delete(identity);
    knownFiles.set(identity, known);
  }
  return known;
}

function remember(identity: string, file: { readonly head: Uint8Array; readonly sha256: string }): void {
  knownFiles.set(identity, file);
  if (knownFiles.size > MAX_KNOWN_FILES) knownFiles.delete(knownFiles.keys().next().value as string);
}

/**
 * Chunk buffers of finished hashes, for the next ones. New memory costs page faults on first touch (about 10 µs
 * per 4 KiB page on a VM: 0.3 ms for one chunk), on the thread that serves the models already loaded.
 */
const hashBuffers: Uint8Array[] = [];
/** Buffers kept: loads hashing at once beyond this allocate their own. */
const MAX_HASH_BUFFERS = 2;

/** The sha256 of an opened file's first `file.size` bytes, read in chunks into one reused buffer. */
async function hashAtMost(file: RegularFile): Promise<string> {
  const buffer = hashBuffers.pop() ?? new Uint8Array(HASH_CHUNK);
  try {
    return await hashInto(file, buffer);
  } finally {
    if (hashBuffers.length < MAX_HASH_BUFFERS) hashBuffers.push(buffer);
  }
}

async function hashInto(file: RegularFile, buffer: Uint8Array): Promise<string> {
  const hash = createHash('sha256');
  let position = 0;
  while (position < file.size) {
    const { bytesRead } = await file.handle.read(
      buffer,
      0,
      Math.min(buffer.byteLength, file.size - position),
      position,
    );
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return hash.digest('hex');
}
