import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { ModelshipError } from '../../errors/index.js';
import { hasErrnoCode, writeFileAtomic } from '../../platform/node/fs-atomic.js';
import type { SharedStateEntry, SharedStateStore, SharedStateWrite } from '../../spec/shared-state.js';

/** Where shared documents live under the registry root: a dot-directory, which model listings skip. */
export const LOCAL_SHARED_STATE_DIR = '.modelship/state';
/** A key names a file: the deployment name's alphabet, nothing that could leave the directory. */
const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || !KEY.test(key) || key.includes('..')) {
    throw new ModelshipError(
      'INVALID_ARGUMENT',
      'A shared-state key is a deployment name: letters, digits, ".", "_" or "-" (at most 128), not starting with a dot.',
    );
  }
}

function invalid(key: string, why: string): ModelshipError {
  return new ModelshipError(
    'FLEET_STATE_INVALID',
    `The shared state of ${JSON.stringify(key)} in the local registry is damaged (${why}). Delete ${LOCAL_SHARED_STATE_DIR}/${key}.json under the registry root; the next replica to start writes it again.`,
  );
}

/**
 * Shared documents of the local registry: `<root>/.modelship/state/<key>.json` holding `{ etag, document }`,
 * replaced atomically (rename) so a reader never sees half a file; writes compare and set under a lock file
 * (proper-lockfile, the same as aliases), so replicas on one machine or one shared volume agree.
 */
export function createLocalSharedState(root: string, lockStaleMs: number): SharedStateStore {
  const dir = join(root, LOCAL_SHARED_STATE_DIR);
  const file = (key: string): string => join(dir, `${key}.json`);

  async function read(key: string): Promise<SharedStateEntry | undefined> {
    assertKey(key);
    let text: string;
    try {
      text = await readFile(file(key), 'utf8');
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT')) return undefined;
      throw new ModelshipError(
        'REGISTRY_UNAVAILABLE',
        `Could not read the shared state of ${JSON.stringify(key)}; retry.`,
        {
          cause: error,
        },
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw invalid(key, 'not JSON');
    }
    const { etag, document } = (parsed ?? {}) as Record<string, unknown>;
    if (typeof etag !== 'string' || typeof document !== 'string') throw invalid(key, 'no etag or document');
    return { etag, document };
  }

  async function write(key: string, document: string, ifMatch: string | null): Promise<SharedStateWrite> {
    assertKey(key);
    if (typeof document !== 'string')
      throw new ModelshipError('INVALID_ARGUMENT', 'A shared-state document is a string (JSON text).');
    await mkdir(dir, { recursive: true });
    const lockPath = join(dir, `${key}.lock`);
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(dir, {
        realpath: false,
        lockfilePath: lockPath,
        stale: lockStaleMs,
        retries: { retries: Math.ceil((2 * lockStaleMs) / 250) + 20, factor: 1.3, minTimeout: 5, maxTimeout: 250 },
      });
    } catch (error) {
      throw new ModelshipError(
        'REGISTRY_UNAVAILABLE',
        `Timed out waiting for the shared-state lock of ${JSON.stringify(key)}. Retry; if no other process uses the registry, delete ${LOCAL_SHARED_STATE_DIR}/${key}.lock.`,
        { cause: error },
      );
    }
    try {
      const current = await read(key).catch((error: unknown) => {
        // A damaged document can be replaced only by a write that knows nothing is there (ifMatch null).
        if (ModelshipError.isInstance(error) && error.code === 'FLEET_STATE_INVALID') return undefined;
        throw error;
      });
      if ((current?.etag ?? null) !== ifMatch) return { written: false, reason: 'conflict' };
      const etag = randomUUID();
      await writeFileAtomic(file(key), `${JSON.stringify({ etag, document })}\n`);
      return { written: true, etag };
    } finally {
      await release().catch(() => undefined);
    }
  }

  return { read: (key) => read(key), write: (key, document, ifMatch) => write(key, document, ifMatch) };
}
