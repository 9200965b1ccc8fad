import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { redactUrl } from '../../../core/redact.js';
import { ModelshipError } from '../../../errors/index.js';
import { diskFullCode, fsyncDir, hasErrnoCode, readJsonFile, sha256File, writeFileAtomic } from '../fs-atomic.js';
import { defaultCacheDir } from './cache-dir.js';
import { createLeases, type Leases } from './leases.js';
import type { BlobDamage, OpenHooks, RefRecord } from '../../model-store.js';
import { fileIdentity } from '../file-identity.js';

/** A blob held in the cache and pinned against eviction until `release()`. */
export interface CachedBlob {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  /** Unpins the blob (idempotent). */
  release(): void;
}

/** Options of a model cache. */
export interface ModelCacheOptions {
  /** Cache root; defaults as in {@link defaultCacheDir}. */
  readonly dir?: string;
  /** Size budget in bytes for blobs; least recently used ones are evicted past it (never those in use). */
  readonly maxBytes?: number;
}

/** What to download when a blob is missing. */
export interface BlobRequest {
  /** Dedupe key for downloads in this process when the digest is not known in advance (the URL). */
  readonly key: string;
  /** Where it comes from, for messages (redacted). */
  readonly url: string;
  readonly sha256?: string;
  readonly size?: number;
  /** Writes the content into `tempPath` (a fresh file in the cache's temp area). */
  fill(tempPath: string): Promise<void>;
  /** Told when a cached copy of `sha256` was damaged and removed, before downloading again. */
  readonly onDamaged?: (damage: BlobDamage) => void;
}

/**
 * A content-addressed model cache shared by every process on the machine that uses the same directory:
 *
 * ```
 * <root>/blobs/sha256/<hex>      model files, named by their sha256
 * <root>/refs/<hex>.json         manifest: what each (registry, ref) last resolved to
 * <root>/tmp/                    downloads in progress (never read as blobs)
 * <root>/leases/                 which process is using which blob
 * ```
 *
 * Blobs appear by rename after being hashed and fsynced, so a crash never leaves one that looks complete, and two
 * processes downloading the same blob end with one good copy. Downloads of the same blob in one process are
 * shared. A blob is hashed again when read (once per change of the file, see `open`), so a damaged copy is dropped
 * and downloaded again instead of failing every load.
 */
export interface ModelCache {
  readonly root: string;
  readonly maxBytes: number | undefined;
  /** Where the blob with this sha256 is (or would be) stored. */
  blobPath(sha256: string): string;
  /**
   * A pinned cached blob, or `undefined` when absent. Marks it recently used. The content is checked against its
   * sha256 (skipped while the file is unchanged since this process last checked it); a damaged blob is removed,
   * reported to `hooks.onDamaged`, and reads as absent.
   */
  open(sha256: string, hooks?: OpenHooks): Promise<CachedBlob | undefined>;
  /** The blob for `request`: from the cache, or downloaded once, hashed, verified and added. */
  obtain(request: BlobRequest): Promise<CachedBlob>;
  /** What a reference resolved to last time (for serving from the cache while the registry is down). */
  readRef(key: string): Promise<RefRecord | undefined>;
  /** Records what a reference resolved to, replacing the previous record atomically. */
  writeRef(record: RefRecord): Promise<void>;
  /** Evicts least recently used blobs until under `maxBytes`, skipping those in use. Returns what was removed. */
  prune(): Promise<string[]>;
  /** Total size of the cached blobs. */
  usage(): Promise<{ bytes: number; blobs: number }>;
}

const STALE_TEMP_MS = 60 * 60 * 1000;
const SHA = /^[0-9a-f]{64}$/;

interface Shared {
  leases: Leases;
  inflight: Map<string, Promise<{ sha256: string; size: number }>>;
  cleaned: boolean;
  /**
   * Blobs hashed and found intact, by sha256: the file identity they had then (file-identity.ts). An unchanged
   * identity means unchanged content, so a blob is hashed once per change rather than on every load.
   */
  verified: Map<string, string>;
}

// Per cache root and shared by every cache object on that root in this process, so two registries configured
// with the same directory still share downloads and leases.
const roots = new Map<string, Shared>();

/** Opens (lazily creating) the model cache at `options.dir` or the default location. */
export function createModelCache(options: ModelCacheOptions = {}): ModelCache {
  const root = defaultCacheDir(options.dir);
  const blobsDir = join(root, 'blobs', 'sha256');
  const refsDir = join(root, 'refs');
  const tmpDir = join(root, 'tmp');
  let shared = roots.get(root);
  if (shared === undefined) {
    shared = { leases: createLeases(join(root, 'leases')), inflight: new Map(), cleaned: false, verified: new Map() };
    roots.set(root, shared);
  }
  const state = shared;
  const blobPath = (sha256: string): string => join(blobsDir, sha256);

  async function cleanStaleTemps(): Promise<void> {
    if (state.cleaned) return;
    state.cleaned = true;
    const cutoff = Date.now() - STALE_TEMP_MS;
    for (const name of await readdir(tmpDir).catch(() => [] as string[])) {
      const path = join(tmpDir, name);
      const info = await stat(path).catch(() => undefined);
      if (info !== undefined && info.mtimeMs < cutoff) await rm(path, { force: true }).catch(() => undefined);
    }
  }

  /** Hashes the blob unless it is unchanged since it was last found intact; removes it when it does not match. */
  async function check(sha256: string, path: string, hooks: OpenHooks | undefined): Promise<boolean> {
    const before = await stat(path);
    if (state.verified.get(sha256) === fileIdentity(before)) return true;
    const actual = await sha256File(path);
    if (actual.sha256 === sha256) return true;
    state.verified.delete(sha256);
    // Only this exact file goes: another process may already have renamed a good copy into place.
    const now = await stat(path).catch(() => undefined);
    if (now !== undefined && now.ino === before.ino) await rm(path, { force: true });
    hooks?.onDamaged?.({ sha256, actual });
    return false;
  }

  async function open(sha256: string, hooks?: OpenHooks): Promise<CachedBlob | undefined> {
    if (!SHA.test(sha256)) return undefined;
    const release = await state.leases.acquire(sha256);
    try {
      const path = blobPath(sha256);
      if (!(await check(sha256, path, hooks))) {
        release();
        return undefined;
      }
      const now = new Date();
      await utimes(path, now, now).catch(() => undefined);
      const info = await stat(path);
      state.verified.set(sha256, fileIdentity(info));
      return { path, sha256, size: info.size, release };
    } catch (error) {
      release();
      if (hasErrnoCode(error, 'ENOENT', 'ENOTDIR')) return undefined;
      throw error;
    }
  }

  async function download(request: BlobRequest): Promise<{ sha256: string; size: number }> {
    await mkdir(tmpDir, { recursive: true });
    await cleanStaleTemps();
    const temp = join(tmpDir, `${randomBytes(8).toString('hex')}.partial`);
    try {
      await request.fill(temp);
      const digest = await sha256File(temp);
      if (request.sha256 !== undefined && digest.sha256 !== request.sha256) {
        throw new ModelshipError(
          'INTEGRITY_MISMATCH',
          `${redactUrl(request.url)} has sha256 ${digest.sha256}, but ${request.sha256} was expected. The download was discarded and nothing was loaded; check that the registry's digest is right.`,
          { details: { expected: request.sha256, actual: digest.sha256 } },
        );
      }
      if (request.size !== undefined && digest.size !== request.size) {
        throw new ModelshipError(
          'INTEGRITY_MISMATCH',
          `${redactUrl(request.url)} is ${digest.size} bytes, but the registry recorded ${request.size}. The download was discarded.`,
          { details: { expectedSize: request.size, actualSize: digest.size } },
        );
      }
      await mkdir(blobsDir, { recursive: true });
      // Another process may have renamed the same content into place already; replacing it is harmless.
      await rename(temp, blobPath(digest.sha256));
      await fsyncDir(blobsDir);
      // Just hashed while it was written: the read that follows need not hash it again.
      state.verified.set(digest.sha256, fileIdentity(await stat(blobPath(digest.sha256))));
      return digest;
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      const full = diskFullCode(error);
      if (full === undefined) throw error;
      // Not an outage (nothing to fall back on or retry): the disk this process writes the cache to is full.
      throw new ModelshipError(
        'INTERNAL',
        `Out of disk space while caching ${redactUrl(request.url)} (${full}); nothing was cached and the partial download was removed. Free space on the volume holding the model cache (cacheDir), or lower maxCacheBytes.`,
        { cause: error, details: { errno: full } },
      );
    }
  }

  async function obtain(request: BlobRequest): Promise<CachedBlob> {
    if (request.sha256 !== undefined) {
      const hit = await open(request.sha256, request);
      if (hit !== undefined) return hit;
    }
    const key = request.sha256 ?? request.key;
    let pending = state.inflight.get(key);
    if (pending === undefined) {
      pending = download(request).finally(() => state.inflight.delete(key));
      state.inflight.set(key, pending);
    }
    const { sha256 } = await pending;
    const blob = await open(sha256);
    if (blob === undefined) {
      throw new ModelshipError(
        'INTERNAL',
        `The cached blob ${sha256} vanished right after download (another process evicted it?); retry.`,
        { retryable: true },
      );
    }
    await prune().catch(() => undefined);
    return blob;
  }

  const refFile = (key: string): string => join(refsDir, `${createHash('sha256').update(key).digest('hex')}.json`);

  async function readRef(key: string): Promise<RefRecord | undefined> {
    try {
      const record = (await readJsonFile(refFile(key))) as RefRecord;
      return record?.key === key && typeof record.resolved === 'object' ? record : undefined;
    } catch {
      // Absent or unreadable: either way there is nothing usable to fall back on.
      return undefined;
    }
  }

  async function writeRef(record: RefRecord): Promise<void> {
    await mkdir(refsDir, { recursive: true });
    await writeFileAtomic(refFile(record.key), `${JSON.stringify(record, null, 2)}\n`);
  }

  async function listBlobs(): Promise<{ sha256: string; size: number; usedAt: number }[]> {
    const names = (await readdir(blobsDir).catch(() => [] as string[])).filter((n) => SHA.test(n));
    const infos = await Promise.all(
      names.map(async (sha256) => {
        const info = await stat(blobPath(sha256)).catch(() => undefined);
        return info === undefined ? undefined : { sha256, size: info.size, usedAt: info.mtimeMs };
      }),
    );
    return infos.filter((i): i is { sha256: string; size: number; usedAt: number } => i !== undefined);
  }

  async function prune(): Promise<string[]> {
    if (options.maxBytes === undefined) return [];
    const blobs = await listBlobs();
    let total = blobs.reduce((sum, b) => sum + b.size, 0);
    if (total <= options.maxBytes) return [];
    const inUse = await state.leases.inUse();
    const evicted: string[] = [];
    for (const blob of blobs.sort((a, b) => a.usedAt - b.usedAt)) {
      if (total <= options.maxBytes) break;
      if (inUse.has(blob.sha256)) continue;
      await rm(blobPath(blob.sha256), { force: true });
      total -= blob.size;
      evicted.push(blob.sha256);
    }
    return evicted;
  }

  async function usage(): Promise<{ bytes: number; blobs: number }> {
    const blobs = await listBlobs();
    return { bytes: blobs.reduce((sum, b) => sum + b.size, 0), blobs: blobs.length };
  }

  return { root, maxBytes: options.maxBytes, blobPath, open, obtain, readRef, writeRef, prune, usage };
}
