import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { z } from 'zod';
import { isVersion } from '../../core/ref.js';
import { ModelshipError } from '../../errors/index.js';
import { hasErrnoCode, writeFileAtomic } from '../../platform/node/fs-atomic.js';
import { LOCAL_ALIASES_FILE, readValidatedJson, sortedEntries, type LocalLayout } from './layout.js';

const LOCK_DIR = '.aliases.lock';
const ALIASES_FIX = 'Fix it by hand (it maps alias to version, e.g. {"production":"3"}) or restore it.';

// Checked key by key over the raw JSON rather than with z.record: zod skips a "__proto__" key, so
// {"__proto__": "../../x"} passed the check and its value reached a path.
const aliasesSchema = z.custom<Record<string, string>>((value) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.keys(value).every((key) => {
    const target: unknown = (value as Record<string, unknown>)[key];
    return typeof target === 'string' && isVersion(target);
  });
}, 'expected an object mapping each alias to a version such as "3"');

/** Each model's `aliases.json`: alias name → version. */
export interface AliasStore {
  /** The alias map as a null-prototype object; empty when the file is absent. */
  read(name: string): Promise<Record<string, string>>;
  /**
   * Read-modify-write of the alias map, serialized in-process and across processes. `mutate` edits the map in
   * place (or throws to abort without writing).
   */
  update(name: string, mutate: (aliases: Record<string, string>) => Promise<void>): Promise<void>;
}

// Keyed by model directory and shared across registry instances, so two instances on one root in one process
// queue up instead of spinning on each other's lock file.
const aliasChains = new Map<string, Promise<void>>();

function serialize<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = aliasChains.get(key) ?? Promise.resolve();
  const run = previous.then(task);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  aliasChains.set(key, tail);
  void tail.then(() => {
    if (aliasChains.get(key) === tail) aliasChains.delete(key);
  });
  return run;
}

/** The alias store of the registry laid out as `layout`; `lockStaleMs` as in the registry options. */
export function createAliasStore(layout: LocalLayout, lockStaleMs: number): AliasStore {
  async function read(name: string): Promise<Record<string, string>> {
    const result = await readValidatedJson(join(layout.modelDir(name), LOCAL_ALIASES_FILE), aliasesSchema, ALIASES_FIX);
    // Copied from the raw JSON (JSON.parse keeps "__proto__" as an own key) into a null-prototype object: an alias
    // named "__proto__" is valid, and a plain {} would swallow it through the prototype setter.
    const aliases = Object.create(null) as Record<string, string>;
    const raw = (result?.raw ?? {}) as Record<string, string>;
    for (const key of Object.keys(raw)) aliases[key] = raw[key] as string;
    return aliases;
  }

  async function lock(
    name: string,
    dir: string,
    lockPath: string,
    onCompromised: (error: Error) => void,
  ): Promise<() => Promise<void>> {
    try {
      return await lockfile.lock(dir, {
        realpath: false,
        lockfilePath: lockPath,
        stale: lockStaleMs,
        // Enough patience to outlast a crashed holder's lock going stale, with jitter to spread contenders.
        retries: {
          retries: Math.ceil((2 * lockStaleMs) / 250) + 20,
          factor: 1.3,
          minTimeout: 5,
          maxTimeout: 250,
          randomize: true,
        },
        onCompromised,
      });
    } catch (error) {
      if (hasErrnoCode(error, 'ELOCKED')) {
        throw new ModelshipError(
          'REGISTRY_UNAVAILABLE',
          `Timed out waiting for the alias lock of ${JSON.stringify(name)} (${lockPath}). Retry; if no other process is using the registry, delete that directory.`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  async function update(name: string, mutate: (aliases: Record<string, string>) => Promise<void>): Promise<void> {
    const dir = layout.modelDir(name);
    await serialize(dir, async () => {
      let compromised: Error | undefined;
      const release = await lock(name, dir, join(dir, LOCK_DIR), (error) => {
        compromised = error;
      });
      try {
        const aliases = await read(name);
        await mutate(aliases);
        if (compromised !== undefined) {
          throw new ModelshipError(
            'REGISTRY_UNAVAILABLE',
            `Lost the alias lock of ${JSON.stringify(name)} before writing (${compromised.message}); retry.`,
            {
              cause: compromised,
            },
          );
        }
        await writeFileAtomic(
          join(dir, LOCAL_ALIASES_FILE),
          `${JSON.stringify(Object.fromEntries(sortedEntries(aliases)), null, 2)}\n`,
        );
      } finally {
        await release().catch(() => undefined);
      }
    });
  }

  return { read, update };
}
