import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Marks blobs as in use so eviction skips them: a count per blob in this process, and one lease file per process
 * (`leases/<sha256>.<pid>.<n>`) so other processes sharing the cache skip them too. A lease file whose process
 * is gone is stale and ignored (then removed) by the next eviction.
 */
export interface Leases {
  /** Pins `sha256` until the returned function is called (idempotent). */
  acquire(sha256: string): Promise<() => void>;
  /** Blobs pinned by this or any live process. Removes stale lease files on the way. */
  inUse(): Promise<Set<string>>;
}

let sequence = 0;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Leases kept under `dir`. */
export function createLeases(dir: string): Leases {
  const counts = new Map<string, { count: number; file: string; written: Promise<void> }>();

  async function acquire(sha256: string): Promise<() => void> {
    let entry = counts.get(sha256);
    if (entry === undefined) {
      const file = join(dir, `${sha256}.${process.pid}.${++sequence}`);
      const written = mkdir(dir, { recursive: true }).then(() => writeFile(file, ''));
      entry = { count: 0, file, written };
      counts.set(sha256, entry);
    }
    entry.count++;
    const held = entry;
    await held.written;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      held.count--;
      if (held.count === 0 && counts.get(sha256) === held) {
        counts.delete(sha256);
        void held.written.then(() => rm(held.file, { force: true })).catch(() => undefined);
      }
    };
  }

  async function inUse(): Promise<Set<string>> {
    const pinned = new Set(counts.keys());
    const files = await readdir(dir).catch(() => [] as string[]);
    await Promise.all(
      files.map(async (name) => {
        const m = /^([0-9a-f]{64})\.(\d+)\.\d+$/.exec(name);
        if (!m) return;
        if (alive(Number(m[2]))) pinned.add(m[1] as string);
        else await rm(join(dir, name), { force: true }).catch(() => undefined);
      }),
    );
    return pinned;
  }

  return { acquire, inUse };
}
