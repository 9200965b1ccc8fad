import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import lockfile from 'proper-lockfile';
import { z } from 'zod';
import { assertAlias, assertModelName, isVersion, parseNamedRef } from '../../core/ref.js';
import { ModelshipError, toModelshipError } from '../../errors/index.js';
import {
  copyFileHashed,
  fsyncDir,
  hasErrnoCode,
  readJsonFile,
  sha256Bytes,
  writeFileAtomic,
  writeFileDurable,
  type ContentDigest,
} from '../../platform/node/fs-atomic.js';
import type {
  ModelVersionInfo,
  PublishInput,
  PublishedModel,
  RegistryAdapter,
  RegistryCallOptions,
  ResolvedModel,
  WatchListener,
} from '../../spec/registry.js';
import { LOCAL_REGISTRY_DEFAULTS, parseLocalRegistryOptions, type LocalRegistryOptions } from './local-registry-options.js';

/** File name of the model inside a version directory. */
export const LOCAL_MODEL_FILE = 'model.onnx';
/** File name of the per-version metadata; a version directory without it is invisible. */
export const LOCAL_META_FILE = 'meta.json';
/** File name of the per-model alias map (`{"production":"3"}`). */
export const LOCAL_ALIASES_FILE = 'aliases.json';

// A staging dir this old belongs to a publisher that died; anything younger may still be in use.
const STALE_STAGING_MS = 60 * 60 * 1000;
// Each failed claim means another publisher succeeded, so this only bounds a broken filesystem.
const MAX_CLAIM_ATTEMPTS = 1000;
const LOCK_DIR = '.aliases.lock';

/** What `meta.json` holds for each version. */
export interface LocalModelMeta {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
  readonly size: number;
  readonly createdAt: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly source?: string;
  readonly format: 'onnx';
}

/** A version as the local registry reports it: the spec's info plus where the model came from. */
export interface LocalModelVersionInfo extends ModelVersionInfo {
  readonly sha256: string;
  readonly size: number;
  readonly createdAt: string;
  readonly source?: string;
}

/** Options for {@link LocalRegistry.watch}. */
export interface LocalWatchOptions {
  /** Polling interval in ms; defaults to the registry's `watchIntervalMs` (1000). */
  readonly intervalMs?: number;
  /**
   * The version the caller already has (typically what it resolved and loaded). Changes are reported relative
   * to it, which closes the gap between resolving and starting to watch. Without it the first poll sets the
   * baseline silently.
   */
  readonly since?: Pick<ModelVersionInfo, 'version' | 'sha256' | 'createdAt'>;
  /** Receives errors hit while polling (or thrown by the listener); watching continues regardless. */
  readonly onError?: (error: ModelshipError) => void;
}

/** A registry stored as plain directories: `<root>/<name>/<version>/model.onnx` + `meta.json`. */
export interface LocalRegistry extends RegistryAdapter {
  readonly specificationVersion: 'v1';
  readonly kind: 'local';
  /** Absolute path of the registry directory. */
  readonly root: string;
  resolve(ref: string, options?: RegistryCallOptions): Promise<ResolvedModel>;
  /** Gives the version's `model.onnx`; checks that it exists and has the recorded size (not the hash). */
  fetch(model: ResolvedModel, options?: RegistryCallOptions): Promise<{ readonly kind: 'file'; readonly path: string }>;
  listVersions(name: string, options?: RegistryCallOptions): Promise<LocalModelVersionInfo[]>;
  publish(input: PublishInput, options?: RegistryCallOptions): Promise<PublishedModel>;
  setAlias(name: string, alias: string, version: string): Promise<void>;
  deleteAlias(name: string, alias: string): Promise<void>;
  watch(ref: string, listener: WatchListener, options?: LocalWatchOptions): () => void;
  /** One version's info; MODEL_NOT_FOUND / VERSION_NOT_FOUND when absent. */
  getVersion(name: string, version: string, options?: RegistryCallOptions): Promise<LocalModelVersionInfo>;
  /** Names of models with at least one visible version, sorted. An absent root gives `[]`. */
  listModels(options?: RegistryCallOptions): Promise<string[]>;
  /** The model's alias map (`{ production: '3' }`); MODEL_NOT_FOUND for an unknown model. */
  getAliases(name: string, options?: RegistryCallOptions): Promise<Record<string, string>>;
}

const metaSchema = z.object({
  name: z.string(),
  version: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits'),
  size: z.number().int().nonnegative(),
  createdAt: z.string(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  source: z.string().optional(),
  format: z.string().optional(),
});

const aliasesSchema = z.record(
  z.string(),
  z.string().refine(isVersion, 'expected a version such as "3"'),
);

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

/** Orders version strings numerically; they have no leading zeros, so length decides first. */
function compareVersions(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

function invalidArgument(message: string, details?: Record<string, unknown>): ModelshipError {
  return new ModelshipError('INVALID_ARGUMENT', message, details === undefined ? {} : { details });
}

function assertVersionArgument(version: string): void {
  if (typeof version !== 'string' || !isVersion(version)) {
    throw invalidArgument(`Invalid version ${JSON.stringify(version)}: versions are positive integers such as "3".`);
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ModelshipError('ABORTED', 'The registry operation was aborted.', { cause: signal.reason });
}

function formatList(items: readonly string[], max = 10): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown} (and ${items.length - max} more)` : shown;
}

function sameVersion(a: Pick<ModelVersionInfo, 'version' | 'sha256' | 'createdAt'>, b: ResolvedModel): boolean {
  // Comparing hash and time too catches a version number reused after someone deleted the newest directory.
  if (a.version !== b.version) return false;
  if (a.sha256 !== undefined && b.sha256 !== undefined && a.sha256 !== b.sha256) return false;
  return !(a.createdAt !== undefined && b.createdAt !== undefined && a.createdAt !== b.createdAt);
}

function isNotFound(error: unknown): boolean {
  return (
    ModelshipError.hasCode(error, 'MODEL_NOT_FOUND') ||
    ModelshipError.hasCode(error, 'VERSION_NOT_FOUND') ||
    ModelshipError.hasCode(error, 'ALIAS_NOT_FOUND')
  );
}

/**
 * Creates a registry that keeps models in a plain directory tree, Triton-style, so it can be inspected with
 * `ls`, committed with Git LFS or DVC, and shared by several processes on one machine:
 *
 * ```
 * <root>/<name>/<version>/model.onnx
 * <root>/<name>/<version>/meta.json
 * <root>/<name>/aliases.json
 * ```
 *
 * Publishing is crash-safe (a version appears all at once or not at all) and safe to run from several
 * processes at the same time; alias updates are serialized with a lock file so none is lost.
 *
 * @example
 * ```ts
 * const registry = createLocalRegistry({ root: './models' });
 * await registry.publish({ name: 'mnist', file: './mnist.onnx', aliases: ['candidate'] });
 * await registry.setAlias('mnist', 'production', '1');
 * const model = await registry.resolve('mnist@production'); // { version: '1', location: '/…/models/mnist/1/model.onnx', … }
 * const stop = registry.watch('mnist@production', (next) => console.log('now serving', next.version));
 * ```
 */
export function createLocalRegistry(options: LocalRegistryOptions): LocalRegistry {
  const parsed = parseLocalRegistryOptions(options);
  const root = resolvePath(parsed.root);
  const lockStaleMs = parsed.lockStaleMs ?? LOCAL_REGISTRY_DEFAULTS.lockStaleMs;
  const watchIntervalMs = parsed.watchIntervalMs ?? LOCAL_REGISTRY_DEFAULTS.watchIntervalMs;

  const modelDir = (name: string): string => join(root, name);
  const versionDir = (name: string, version: string): string => join(root, name, version);

  /** Maps filesystem failures to typed errors that say what to do; passes modelship errors through. */
  function fsFailure(error: unknown, action: string): ModelshipError {
    if (ModelshipError.isInstance(error)) return error;
    if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) {
      return toModelshipError(error);
    }
    const message = error instanceof Error ? error.message : String(error);
    if (hasErrnoCode(error, 'EACCES', 'EPERM', 'EROFS')) {
      return new ModelshipError('INTERNAL', `Permission denied while ${action} (${message}). Check that this process can read and write ${root}.`, { cause: error });
    }
    if (hasErrnoCode(error, 'ENOSPC', 'EDQUOT')) {
      return new ModelshipError('INTERNAL', `Out of disk space while ${action} (${message}). Free space on the volume holding ${root}.`, { cause: error });
    }
    return new ModelshipError('REGISTRY_UNAVAILABLE', `Filesystem error while ${action}: ${message}. Retry; if it persists, check ${root}.`, { cause: error });
  }

  async function guard<T>(action: string, signal: AbortSignal | undefined, task: () => Promise<T>): Promise<T> {
    throwIfAborted(signal);
    try {
      return await task();
    } catch (error) {
      throw fsFailure(error, action);
    }
  }

  function corrupt(file: string, why: string, cause: unknown, fix: string): ModelshipError {
    return new ModelshipError('INTERNAL', `${file} is corrupt: ${why}. ${fix}`, { cause, details: { file } });
  }

  /** Every numeric directory name under the model, visible or not; `undefined` when the model dir is absent. */
  async function versionDirs(name: string): Promise<string[] | undefined> {
    try {
      const entries = await readdir(modelDir(name), { withFileTypes: true });
      return entries
        .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && isVersion(e.name))
        .map((e) => e.name)
        .sort(compareVersions);
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT', 'ENOTDIR')) return undefined;
      throw error;
    }
  }

  /** The version's meta.json, or `undefined` when the version is absent or not fully published. */
  async function readMeta(name: string, version: string): Promise<LocalModelMeta | undefined> {
    const file = join(versionDir(name, version), LOCAL_META_FILE);
    let raw: unknown;
    try {
      raw = await readJsonFile(file);
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT', 'ENOTDIR')) return undefined;
      if (ModelshipError.isInstance(error)) throw corrupt(file, 'not valid JSON', error, 'Restore it from version control, or delete the version directory and publish again.');
      throw error;
    }
    const result = metaSchema.safeParse(raw);
    if (!result.success) {
      throw corrupt(file, z.prettifyError(result.error).replace(/\n/g, ' '), result.error, 'Restore it from version control, or delete the version directory and publish again.');
    }
    const m = result.data;
    // The directory is the truth: a hand-copied version directory keeps working under its new number.
    return {
      name,
      version,
      sha256: m.sha256,
      size: m.size,
      createdAt: m.createdAt,
      metadata: m.metadata ?? {},
      ...(m.source === undefined ? {} : { source: m.source }),
      format: 'onnx',
    };
  }

  async function readAliases(name: string): Promise<Record<string, string>> {
    const file = join(modelDir(name), LOCAL_ALIASES_FILE);
    let raw: unknown;
    try {
      raw = await readJsonFile(file);
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT', 'ENOTDIR')) return Object.create(null) as Record<string, string>;
      if (ModelshipError.isInstance(error)) throw corrupt(file, 'not valid JSON', error, 'Fix it by hand (it maps alias to version, e.g. {"production":"3"}) or restore it.');
      throw error;
    }
    const result = aliasesSchema.safeParse(raw);
    if (!result.success) {
      throw corrupt(file, z.prettifyError(result.error).replace(/\n/g, ' '), result.error, 'Fix it by hand (it maps alias to version, e.g. {"production":"3"}) or restore it.');
    }
    // Copied from the raw JSON into a null-prototype object: an alias named "__proto__" is valid, and both zod's
    // output object and a plain {} would swallow it through the prototype setter.
    return Object.assign(Object.create(null) as Record<string, string>, raw as Record<string, string>);
  }

  async function visibleVersions(name: string): Promise<string[]> {
    const dirs = (await versionDirs(name)) ?? [];
    const present = await Promise.all(dirs.map((v) => stat(join(versionDir(name, v), LOCAL_META_FILE)).then(() => true, () => false)));
    return dirs.filter((_, i) => present[i]);
  }

  async function hasVisibleVersion(name: string): Promise<boolean> {
    const dirs = (await versionDirs(name)) ?? [];
    for (let i = dirs.length - 1; i >= 0; i--) {
      const ok = await stat(join(versionDir(name, dirs[i] as string), LOCAL_META_FILE)).then(() => true, () => false);
      if (ok) return true;
    }
    return false;
  }

  async function listModelNames(): Promise<string[]> {
    let entries;
    try {
      entries = await readdir(root, { withFileTypes: true });
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT', 'ENOTDIR')) return [];
      throw error;
    }
    const candidates = entries
      .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && !e.name.startsWith('.'))
      .map((e) => e.name)
      .filter((n) => {
        try {
          assertModelName(n);
          return true;
        } catch {
          return false;
        }
      });
    const visible = await Promise.all(candidates.map((n) => hasVisibleVersion(n)));
    return candidates.filter((_, i) => visible[i]).sort();
  }

  async function modelNotFound(name: string): Promise<ModelshipError> {
    const models = await listModelNames().catch(() => []);
    const hint =
      models.length === 0
        ? `The local registry at ${root} is empty; publish a model first, e.g. registry.publish({ name: ${JSON.stringify(name)}, file: './model.onnx' }).`
        : `Models in ${root}: ${formatList(models, 5)}.`;
    return new ModelshipError('MODEL_NOT_FOUND', `Model ${JSON.stringify(name)} not found. ${hint}`, {
      details: { name, available: models.slice(0, 5) },
    });
  }

  async function versionNotFound(name: string, version: string, why = ''): Promise<ModelshipError> {
    const versions = await visibleVersions(name);
    if (versions.length === 0) return modelNotFound(name);
    const recent = versions.slice(-10);
    return new ModelshipError(
      'VERSION_NOT_FOUND',
      `Model ${JSON.stringify(name)} has no version ${version}${why}. Available versions: ${versions.length > 10 ? '…, ' : ''}${recent.join(', ')}; use ${JSON.stringify(name)} for the latest.`,
      { details: { name, version, available: recent } },
    );
  }

  function aliasNotFound(name: string, alias: string, aliases: Record<string, string>): ModelshipError {
    const entries = Object.entries(aliases).sort(([a], [b]) => (a < b ? -1 : 1));
    const hint =
      entries.length === 0
        ? `It has no aliases yet; set one with setAlias(${JSON.stringify(name)}, ${JSON.stringify(alias)}, '<version>').`
        : `Its aliases: ${formatList(entries.map(([a, v]) => `${a} → ${v}`))}.`;
    return new ModelshipError('ALIAS_NOT_FOUND', `Model ${JSON.stringify(name)} has no alias ${JSON.stringify(alias)}. ${hint}`, {
      details: { name, alias, available: entries.map(([a]) => a) },
    });
  }

  function aliasesOf(aliases: Record<string, string>, version: string): string[] {
    return Object.keys(aliases)
      .filter((a) => aliases[a] === version)
      .sort();
  }

  function toInfo(meta: LocalModelMeta, aliases: Record<string, string>): LocalModelVersionInfo {
    return {
      name: meta.name,
      version: meta.version,
      sha256: meta.sha256,
      size: meta.size,
      createdAt: meta.createdAt,
      aliases: aliasesOf(aliases, meta.version),
      metadata: meta.metadata,
      ...(meta.source === undefined ? {} : { source: meta.source }),
    };
  }

  async function resolveRef(ref: string): Promise<ResolvedModel> {
    const { name, selector } = parseNamedRef(ref);
    const dirs = await versionDirs(name);
    if (dirs === undefined) throw await modelNotFound(name);
    let meta: LocalModelMeta | undefined;
    let aliases: Record<string, string> | undefined;
    if (selector.kind === 'latest') {
      for (let i = dirs.length - 1; i >= 0 && meta === undefined; i--) meta = await readMeta(name, dirs[i] as string);
      if (meta === undefined) throw await modelNotFound(name);
    } else if (selector.kind === 'version') {
      meta = await readMeta(name, selector.version);
      if (meta === undefined) throw await versionNotFound(name, selector.version);
    } else {
      aliases = await readAliases(name);
      const target = aliases[selector.alias];
      if (target === undefined) {
        if (!(await hasVisibleVersion(name))) throw await modelNotFound(name);
        throw aliasNotFound(name, selector.alias, aliases);
      }
      meta = await readMeta(name, target);
      if (meta === undefined) throw await versionNotFound(name, target, ` (alias ${JSON.stringify(selector.alias)} points at it; move the alias with setAlias)`);
    }
    aliases ??= await readAliases(name);
    return { ...toInfo(meta, aliases), ref, location: join(versionDir(name, meta.version), LOCAL_MODEL_FILE) };
  }

  /** Read-modify-write of aliases.json, serialized in-process and across processes. */
  async function updateAliases(name: string, mutate: (aliases: Record<string, string>) => Promise<void>): Promise<void> {
    const dir = modelDir(name);
    const file = join(dir, LOCAL_ALIASES_FILE);
    const lockPath = join(dir, LOCK_DIR);
    await serialize(dir, async () => {
      let compromised: Error | undefined;
      let release: () => Promise<void>;
      try {
        release = await lockfile.lock(dir, {
          realpath: false,
          lockfilePath: lockPath,
          stale: lockStaleMs,
          // Enough patience to outlast a crashed holder's lock going stale, with jitter to spread contenders.
          retries: { retries: Math.ceil((2 * lockStaleMs) / 250) + 20, factor: 1.3, minTimeout: 5, maxTimeout: 250, randomize: true },
          onCompromised: (error) => {
            compromised = error;
          },
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
      try {
        const aliases = await readAliases(name);
        await mutate(aliases);
        if (compromised !== undefined) {
          throw new ModelshipError('REGISTRY_UNAVAILABLE', `Lost the alias lock of ${JSON.stringify(name)} before writing (${compromised.message}); retry.`, {
            cause: compromised,
          });
        }
        const sorted = Object.fromEntries(Object.entries(aliases).sort(([a], [b]) => (a < b ? -1 : 1)));
        await writeFileAtomic(file, `${JSON.stringify(sorted, null, 2)}\n`);
      } finally {
        await release().catch(() => undefined);
      }
    });
  }

  async function requireModel(name: string): Promise<void> {
    if (!(await hasVisibleVersion(name))) throw await modelNotFound(name);
  }

  /** Best-effort removal of staging dirs and temp files left by publishers that died. */
  async function cleanStale(dir: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    const cutoff = Date.now() - STALE_STAGING_MS;
    await Promise.all(
      entries
        .filter((e) => e.name.startsWith('.staging-') || (e.name.startsWith('.') && e.name.endsWith('.tmp')))
        .map(async (e) => {
          const path = join(dir, e.name);
          // A huge copy can take long; the file being written keeps its mtime fresh even when the dir's isn't.
          let newest = (await stat(path)).mtimeMs;
          if (e.isDirectory()) {
            for (const child of await readdir(path)) newest = Math.max(newest, (await stat(join(path, child)).catch(() => ({ mtimeMs: 0 }))).mtimeMs);
          }
          if (newest < cutoff) await rm(path, { recursive: true, force: true });
        })
        .map((p) => p.catch(() => undefined)),
    );
  }

  function validatePublishInput(input: PublishInput): { aliases: string[]; metadata: Record<string, unknown> } {
    if (typeof input !== 'object' || input === null) throw invalidArgument('publish() takes an object: { name, file | bytes, aliases?, metadata?, source? }.');
    assertModelName(input.name);
    if (input.aliases !== undefined && !Array.isArray(input.aliases)) throw invalidArgument('aliases must be an array of alias names.');
    const aliases = [...new Set(input.aliases ?? [])];
    for (const alias of aliases) assertAlias(alias);
    const hasFile = input.file !== undefined;
    const hasBytes = input.bytes !== undefined;
    if (hasFile === hasBytes) {
      throw invalidArgument(
        hasFile
          ? 'publish() got both file and bytes; pass exactly one.'
          : 'publish() needs the model: pass file (a path to a .onnx file) or bytes (a Uint8Array).',
      );
    }
    if (hasFile && (typeof input.file !== 'string' || input.file.length === 0)) throw invalidArgument('file must be a non-empty path string.');
    if (hasBytes && !(input.bytes instanceof Uint8Array)) throw invalidArgument('bytes must be a Uint8Array (a Buffer is fine).');
    if (hasBytes && input.bytes?.byteLength === 0) throw invalidArgument('bytes is empty; pass the model file content.');
    if (input.source !== undefined && typeof input.source !== 'string') throw invalidArgument('source must be a string (a run id, URL or path).');
    const meta = input.metadata ?? {};
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw invalidArgument('metadata must be a plain object.');
    let metadata: Record<string, unknown>;
    try {
      // Round-trip so the caller gets back exactly what later reads will return.
      metadata = JSON.parse(JSON.stringify(meta)) as Record<string, unknown>;
    } catch (error) {
      throw new ModelshipError('INVALID_ARGUMENT', `metadata must be JSON-serializable (${(error as Error).message}).`, { cause: error });
    }
    return { aliases, metadata };
  }

  async function checkSourceFile(file: string): Promise<void> {
    const path = resolvePath(file);
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT', 'ENOTDIR')) throw invalidArgument(`Model file not found: ${path}. Check the path passed as file.`, { file: path });
      throw error;
    }
    if (!info.isFile()) throw invalidArgument(`${path} is not a regular file; pass the path of a .onnx file.`, { file: path });
    if (info.size === 0) throw invalidArgument(`${path} is empty; pass a model file with content.`, { file: path });
  }

  async function publish(input: PublishInput, options?: RegistryCallOptions): Promise<PublishedModel> {
    const signal = options?.signal;
    throwIfAborted(signal);
    const { aliases, metadata } = validatePublishInput(input);
    const name = input.name;
    return guard(`publishing ${JSON.stringify(name)}`, signal, async () => {
      if (input.file !== undefined) await checkSourceFile(input.file);
      const dir = modelDir(name);
      await mkdir(dir, { recursive: true });
      await cleanStale(dir);
      // Everything is prepared out of sight and appears in one rename, so a crash never leaves half a version.
      const staging = join(dir, `.staging-${randomBytes(8).toString('hex')}`);
      await mkdir(staging);
      let version: string;
      let digest: ContentDigest;
      const createdAt = new Date().toISOString();
      try {
        const target = join(staging, LOCAL_MODEL_FILE);
        if (input.file !== undefined) {
          digest = await copyFileHashed(resolvePath(input.file), target, signal);
          if (digest.size === 0) throw invalidArgument(`${resolvePath(input.file)} became empty while publishing.`);
        } else {
          const bytes = input.bytes as Uint8Array;
          await writeFileDurable(target, bytes);
          digest = sha256Bytes(bytes);
        }
        for (let attempt = 1; ; attempt++) {
          throwIfAborted(signal);
          const dirs = (await versionDirs(name)) ?? [];
          const max = dirs.at(-1);
          version = max === undefined ? '1' : (BigInt(max) + 1n).toString();
          const meta: LocalModelMeta = {
            name,
            version,
            sha256: digest.sha256,
            size: digest.size,
            createdAt,
            metadata,
            ...(input.source === undefined ? {} : { source: input.source }),
            format: 'onnx',
          };
          await writeFileAtomic(join(staging, LOCAL_META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
          try {
            await rename(staging, versionDir(name, version));
            break;
          } catch (error) {
            // The version directory already exists: a concurrent publisher claimed this number first.
            const lost = hasErrnoCode(error, 'EEXIST', 'ENOTEMPTY') || (process.platform === 'win32' && hasErrnoCode(error, 'EPERM', 'EACCES'));
            if (!lost || attempt >= MAX_CLAIM_ATTEMPTS) throw error;
          }
        }
      } catch (error) {
        await rm(staging, { recursive: true, force: true }).catch(() => undefined);
        throw error;
      }
      await fsyncDir(dir);
      const claimed = version;
      if (aliases.length > 0) {
        await updateAliases(name, async (current) => {
          for (const alias of aliases) current[alias] = claimed;
        });
      }
      return {
        name,
        version: claimed,
        sha256: digest.sha256,
        size: digest.size,
        aliases: [...aliases].sort(),
        createdAt,
        metadata,
      };
    });
  }

  function resolve(ref: string, options?: RegistryCallOptions): Promise<ResolvedModel> {
    return guard(`resolving ${JSON.stringify(ref)}`, options?.signal, () => resolveRef(ref));
  }

  function watch(ref: string, listener: WatchListener, options: LocalWatchOptions = {}): () => void {
    parseNamedRef(ref); // fail fast on a bad ref instead of erroring on every poll
    if (typeof listener !== 'function') throw invalidArgument('watch() needs a listener function.');
    const interval = options.intervalMs ?? watchIntervalMs;
    if (!Number.isFinite(interval) || interval <= 0) throw invalidArgument(`intervalMs must be a positive number, got ${interval}.`);
    let current: Pick<ModelVersionInfo, 'version' | 'sha256' | 'createdAt'> | undefined = options.since;
    let primed = options.since !== undefined;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const report = (error: unknown): void => {
      try {
        options.onError?.(toModelshipError(error));
      } catch {
        // A failing error handler must not kill the poll loop either.
      }
    };
    const poll = async (): Promise<void> => {
      let next: ResolvedModel;
      try {
        next = await resolve(ref);
      } catch (error) {
        // "Nothing there yet" is a valid baseline: the model appearing later is a change worth reporting.
        if (!primed && isNotFound(error)) primed = true;
        report(error);
        return;
      }
      if (stopped) return;
      if (!primed) {
        primed = true;
        current = next;
        return;
      }
      if (current !== undefined && sameVersion(current, next)) return;
      current = next;
      try {
        listener(next);
      } catch (error) {
        report(error);
      }
    };
    const tick = (): void => {
      void poll()
        .catch(report)
        .finally(() => {
          if (stopped) return;
          timer = setTimeout(tick, interval);
          timer.unref();
        });
    };
    tick();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }

  return {
    specificationVersion: 'v1',
    kind: 'local',
    root,

    resolve,

    fetch: (model, options) =>
      guard(`fetching ${model?.name}/${model?.version}`, options?.signal, async () => {
        assertModelName(model.name);
        assertVersionArgument(model.version);
        // Rebuilt from name and version rather than trusting `location`, which the caller could have altered.
        const path = join(versionDir(model.name, model.version), LOCAL_MODEL_FILE);
        let info;
        try {
          info = await stat(path);
        } catch (error) {
          if (!hasErrnoCode(error, 'ENOENT', 'ENOTDIR')) throw error;
          if ((await readMeta(model.name, model.version)) === undefined) throw await versionNotFound(model.name, model.version);
          throw new ModelshipError('INTEGRITY_MISMATCH', `${path} is missing although its meta.json exists. Restore the file (git lfs pull / dvc pull?) or publish again.`, {
            details: { name: model.name, version: model.version },
          });
        }
        if (model.size !== undefined && info.size !== model.size) {
          throw new ModelshipError(
            'INTEGRITY_MISMATCH',
            `${path} is ${info.size} bytes but ${model.size} were recorded; it may be a Git LFS pointer or was modified. Restore it or publish again.`,
            { details: { name: model.name, version: model.version, expectedSize: model.size, actualSize: info.size } },
          );
        }
        return { kind: 'file', path } as const;
      }),

    listVersions: (name, options) =>
      guard(`listing versions of ${JSON.stringify(name)}`, options?.signal, async () => {
        assertModelName(name);
        const dirs = (await versionDirs(name)) ?? [];
        const metas = (await Promise.all(dirs.map((v) => readMeta(name, v)))).filter((m): m is LocalModelMeta => m !== undefined);
        if (metas.length === 0) throw await modelNotFound(name);
        const aliases = await readAliases(name);
        return metas.map((m) => toInfo(m, aliases));
      }),

    publish,

    setAlias: (name, alias, version) =>
      guard(`setting alias ${JSON.stringify(alias)} of ${JSON.stringify(name)}`, undefined, async () => {
        assertModelName(name);
        assertAlias(alias);
        assertVersionArgument(version);
        await requireModel(name);
        await updateAliases(name, async (aliases) => {
          if ((await readMeta(name, version)) === undefined) throw await versionNotFound(name, version);
          aliases[alias] = version;
        });
      }),

    deleteAlias: (name, alias) =>
      guard(`deleting alias ${JSON.stringify(alias)} of ${JSON.stringify(name)}`, undefined, async () => {
        assertModelName(name);
        assertAlias(alias);
        await requireModel(name);
        await updateAliases(name, async (aliases) => {
          if (!Object.hasOwn(aliases, alias)) throw aliasNotFound(name, alias, aliases);
          delete aliases[alias];
        });
      }),

    watch,

    getVersion: (name, version, options) =>
      guard(`reading ${JSON.stringify(name)} version ${version}`, options?.signal, async () => {
        assertModelName(name);
        assertVersionArgument(version);
        const meta = await readMeta(name, version);
        if (meta === undefined) throw await versionNotFound(name, version);
        return toInfo(meta, await readAliases(name));
      }),

    listModels: (options) => guard('listing models', options?.signal, listModelNames),

    getAliases: (name, options) =>
      guard(`reading aliases of ${JSON.stringify(name)}`, options?.signal, async () => {
        assertModelName(name);
        await requireModel(name);
        return { ...(await readAliases(name)) };
      }),
  };
}
