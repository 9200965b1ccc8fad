import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelshipError, toModelshipError } from '../../errors/index.js';
import { hasErrnoCode, readJsonFile, writeFileAtomic } from '../../platform/node/fs-atomic.js';
import { currentProcess, isSameProcessAlive, type ProcessIdentity } from './process-identity.js';

/** File naming the process that owns a spool directory: `{ pid, host, startedAt, nonce, bootId?, startTicks?, released? }`. */
export const SPOOL_OWNER_FILE = 'owner.json';
/** Suffix of a damaged spool moved aside for inspection: `<dir>.corrupt-<ms since epoch>`. Never adopted. */
export const CORRUPT_SUFFIX = '.corrupt-';

interface Owner extends Partial<Omit<ProcessIdentity, 'pid'>> {
  pid: number;
  host: string;
  startedAt: string;
  /** Set by `close()` when records remain: the directory may be adopted at once. */
  released?: boolean;
}

/** How spool directories are shared between processes. */
export interface OwnershipOptions {
  /**
   * A spool whose owner cannot be checked directly (another host, no /proc, a damaged owner file) counts as
   * orphaned once its heartbeat is this old.
   */
  readonly orphanAfterMs: number;
  /** Told about owner files that are not what a tracker writes (SPOOL_CORRUPT) and directories it could not claim. */
  readonly report: (error: ModelshipError) => void;
}

function newName(): string {
  return `${Date.now().toString(36)}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

async function writeOwner(dir: string, released = false): Promise<void> {
  const { pid, ...identity } = currentProcess();
  const owner: Owner = {
    pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    ...identity,
    ...(released ? { released } : {}),
  };
  await writeFileAtomic(join(dir, SPOOL_OWNER_FILE), JSON.stringify(owner));
}

/** Creates a fresh spool directory under `base`, owned by this process. */
export async function createOwnedDir(base: string): Promise<string> {
  const dir = join(base, newName());
  await mkdir(dir, { recursive: true });
  await writeOwner(dir);
  return dir;
}

function isOwner(value: unknown): value is Owner {
  const owner = value as Partial<Owner> | null;
  return (
    typeof owner === 'object' && owner !== null && Number.isSafeInteger(owner.pid) && typeof owner.host === 'string'
  );
}

/** True once `file` (or the directory) has not been touched for `orphanAfterMs`. */
async function isStale(path: string, options: OwnershipOptions): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  return info !== undefined && Date.now() - info.mtimeMs > options.orphanAfterMs;
}

async function isOrphan(dir: string, options: OwnershipOptions): Promise<boolean> {
  const file = join(dir, SPOOL_OWNER_FILE);
  let owner: unknown;
  try {
    owner = await readJsonFile(file);
  } catch (error) {
    // No owner file: a creator that died between mkdir and writing it, or a hand-made directory.
    if (hasErrnoCode(error, 'ENOENT')) return isStale(dir, options);
    owner = undefined;
  }
  if (!isOwner(owner)) {
    // Written atomically, so garbage means damage. Its owner may still be alive and heartbeating: wait for staleness.
    const stale = await isStale(file, options);
    options.report(
      new ModelshipError(
        'SPOOL_CORRUPT',
        `${file} is not an owner record; the spool is ${stale ? 'adopted as abandoned' : `left alone until nothing has touched it for ${options.orphanAfterMs} ms`}.`,
        {
          details: { file },
        },
      ),
    );
    return stale;
  }
  if (owner.released === true) return true;
  if (owner.host === hostname()) {
    const alive = isSameProcessAlive(owner);
    if (alive !== undefined) return !alive;
  }
  return isStale(file, options);
}

/**
 * Takes over every spool directory under `base` whose owner is gone (its process died, or it closed with
 * records left). Each is claimed by renaming it, which only one contender can win, and returned under its
 * new name, owned by this process.
 */
export async function adoptOrphans(
  base: string,
  exclude: ReadonlySet<string>,
  options: OwnershipOptions,
): Promise<string[]> {
  const entries = await readdir(base, { withFileTypes: true }).catch(() => []);
  const adopted: string[] = [];
  for (const entry of entries) {
    const { name } = entry;
    const dir = join(base, name);
    if (!entry.isDirectory()) continue;
    if (name.startsWith('.') || name.includes(CORRUPT_SUFFIX) || exclude.has(dir) || !(await isOrphan(dir, options)))
      continue;
    const claimed = join(base, newName());
    try {
      await rename(dir, claimed);
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT', 'EEXIST', 'ENOTEMPTY')) continue; // someone else won
      options.report(
        toModelshipError(
          error,
          'INTERNAL',
          `Could not claim the abandoned spool ${dir} (${(error as Error).message}); it is left as it is.`,
        ),
      );
      continue;
    }
    try {
      await writeOwner(claimed);
    } catch (error) {
      // Ours by the rename anyway; a missing owner file only means others wait orphanAfterMs before taking it.
      options.report(
        toModelshipError(
          error,
          'INTERNAL',
          `Could not write the owner file of ${claimed} (${(error as Error).message}).`,
        ),
      );
    }
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

/** Renames a damaged spool to `<dir>.corrupt-<time>`, where it stays for inspection and is never adopted. */
export async function moveAside(dir: string): Promise<string> {
  const aside = `${dir}${CORRUPT_SUFFIX}${Date.now()}`;
  await rename(dir, aside);
  return aside;
}
