import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { hasErrnoCode, readJsonFile, writeFileAtomic } from '../../platform/node/fs-atomic.js';

/** File naming the process that owns a spool directory: `{ pid, host, startedAt, released? }`. */
export const SPOOL_OWNER_FILE = 'owner.json';

interface Owner {
  pid: number;
  host: string;
  startedAt: string;
  /** Set by `close()` when records remain: the directory may be adopted at once. */
  released?: boolean;
}

/** How spool directories are shared between processes. */
export interface OwnershipOptions {
  /** A spool whose owner lives on another host counts as orphaned once its heartbeat is this old. */
  readonly orphanAfterMs: number;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return hasErrnoCode(error, 'EPERM');
  }
}

function newName(): string {
  return `${Date.now().toString(36)}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

async function writeOwner(dir: string, released = false): Promise<void> {
  const owner: Owner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), ...(released ? { released } : {}) };
  await writeFileAtomic(join(dir, SPOOL_OWNER_FILE), JSON.stringify(owner));
}

/** Creates a fresh spool directory under `base`, owned by this process. */
export async function createOwnedDir(base: string): Promise<string> {
  const dir = join(base, newName());
  await mkdir(dir, { recursive: true });
  await writeOwner(dir);
  return dir;
}

async function isOrphan(dir: string, options: OwnershipOptions): Promise<boolean> {
  let owner: Owner;
  try {
    owner = (await readJsonFile(join(dir, SPOOL_OWNER_FILE))) as Owner;
  } catch {
    // No (readable) owner file: a creator that died between mkdir and writing it, or a hand-made directory.
    const info = await stat(dir).catch(() => undefined);
    return info !== undefined && Date.now() - info.mtimeMs > options.orphanAfterMs;
  }
  if (owner.released === true) return true;
  if (owner.host === hostname()) return owner.pid !== process.pid && !isAlive(owner.pid);
  const info = await stat(join(dir, SPOOL_OWNER_FILE)).catch(() => undefined);
  return info !== undefined && Date.now() - info.mtimeMs > options.orphanAfterMs;
}

/**
 * Takes over every spool directory under `base` whose owner is gone (its process died, or it closed with
 * records left). Each is claimed by renaming it, which only one contender can win, and returned under its
 * new name, owned by this process.
 */
export async function adoptOrphans(base: string, exclude: ReadonlySet<string>, options: OwnershipOptions): Promise<string[]> {
  const names = await readdir(base).catch(() => [] as string[]);
  const adopted: string[] = [];
  for (const name of names) {
    const dir = join(base, name);
    if (name.startsWith('.') || exclude.has(dir) || !(await isOrphan(dir, options))) continue;
    const claimed = join(base, newName());
    try {
      await rename(dir, claimed);
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT', 'EEXIST', 'ENOTEMPTY', 'EPERM', 'EACCES')) continue; // someone else won
      throw error;
    }
    await writeOwner(claimed);
    adopted.push(claimed);
  }
  return adopted;
}

/** Marks `dir` as free to adopt (records remain) or removes it (nothing remains). */
export async function releaseDir(dir: string, empty: boolean): Promise<void> {
  if (empty) await rm(dir, { recursive: true, force: true });
  else await writeOwner(dir, true);
}

/** Refreshes the owner files' mtime so other hosts see the spools as alive. */
export async function heartbeat(dirs: Iterable<string>): Promise<void> {
  const now = new Date();
  await Promise.all([...dirs].map((d) => utimes(join(d, SPOOL_OWNER_FILE), now, now).catch(() => undefined)));
}
