import { sha256Hex } from '../../core/digest.js';
import { ModelshipError } from '../../errors/index.js';
import type { ModelStore, RefRecord, StoredModel } from '../model-store.js';

/** The Cache API cache modelship uses unless told otherwise. */
export const DEFAULT_CACHE_NAME = 'modelship-models';

// Keys live under a reserved domain (RFC 2606 `.invalid`) so they can never collide with a real request the
// app caches itself, and so one entry serves a model whatever URL or registry it came from.
const KEY_BASE = 'https://modelship.invalid/';
const contentKey = (sha256: string): string => `${KEY_BASE}sha256/${sha256}`;
const urlKey = (url: string): string => `${KEY_BASE}url?u=${encodeURIComponent(url)}`;

/**
 * Model files in the browser's Cache API, keyed by their sha256 and verified with Web Crypto on every read.
 * Also remembers which sha256 a URL gave last, so a page reload finds a model it loaded by URL without
 * asking the network.
 */
export interface ModelCache {
  /** The bytes stored under `sha256`, verified. A corrupted entry is dropped and rejects with INTEGRITY_MISMATCH. */
  get(sha256: string): Promise<Uint8Array | undefined>;
  /** Stores bytes under their sha256 (computed by the caller). */
  put(sha256: string, bytes: Uint8Array): Promise<void>;
  /** The sha256 recorded for `url` by `remember`, if any. */
  lookup(url: string): Promise<string | undefined>;
  /** Records that `url` served the file with this sha256. */
  remember(url: string, sha256: string): Promise<void>;
}

/** A ModelCache over one Cache API cache. */
class CacheStorageModelCache implements ModelCache {
  readonly #cache: Cache;

  constructor(cache: Cache) {
    this.#cache = cache;
  }

  /** The underlying Cache API cache (the store keeps its ref manifest there too). */
  get cache(): Cache {
    return this.#cache;
  }

  async get(sha256: string): Promise<Uint8Array | undefined> {
    const key = contentKey(sha256);
    const response = await this.#cache.match(key);
    if (!response) return undefined;
    const bytes = new Uint8Array(await response.arrayBuffer());
    const actual = await sha256Hex(bytes);
    if (actual !== sha256) {
      await this.#cache.delete(key);
      throw new ModelshipError(
        'INTEGRITY_MISMATCH',
        `The cached copy of the model with sha256 ${sha256} is corrupted (its bytes hash to ${actual}). It has been removed from the cache; loading the model again downloads a fresh copy.`,
        { details: { expected: sha256, actual } },
      );
    }
    return bytes;
  }

  async put(sha256: string, bytes: Uint8Array): Promise<void> {
    const body = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' });
    await this.#cache.put(
      contentKey(sha256),
      new Response(body, { headers: { 'content-length': String(bytes.byteLength) } }),
    );
  }

  async lookup(url: string): Promise<string | undefined> {
    const response = await this.#cache.match(urlKey(url));
    const text = response ? (await response.text()).trim() : undefined;
    return text && /^[0-9a-f]{64}$/.test(text) ? text : undefined;
  }

  async remember(url: string, sha256: string): Promise<void> {
    await this.#cache.put(urlKey(url), new Response(sha256, { headers: { 'content-type': 'text/plain' } }));
  }
}

/**
 * Opens the model cache, or resolves `undefined` where the Cache API is missing or refused: insecure
 * (non-HTTPS, non-localhost) pages, some private browsing modes, and Node.js.
 */
export async function openModelCache(name: string = DEFAULT_CACHE_NAME): Promise<ModelCache | undefined> {
  const storage = (globalThis as { caches?: CacheStorage }).caches;
  if (!storage) return undefined;
  try {
    return new CacheStorageModelCache(await storage.open(name));
  } catch {
    return undefined;
  }
}

/**
 * Deletes every model modelship cached in this origin (or in the named cache). Resolves whether anything
 * was deleted.
 *
 * @example
 * ```ts
 * await clearModelCache(); // the next loadModel downloads again
 * ```
 */
export async function clearModelCache(name: string = DEFAULT_CACHE_NAME): Promise<boolean> {
  const storage = (globalThis as { caches?: CacheStorage }).caches;
  return storage ? storage.delete(name) : false;
}

/** What {@link createBrowserModelStore} needs for one load: the cache (absent when unavailable) and how to download. */
export interface BrowserModelStoreOptions {
  /** Opens the Cache API cache lazily; resolves `undefined` where it is unavailable or disabled. */
  readonly open: () => Promise<ModelCache | undefined>;
  /** Downloads a model a registry names by URL (its `file` artifact's path). */
  readonly download: (url: string) => Promise<Uint8Array>;
  /** Told about a cache hit, as a download would be (`cached: true`). */
  readonly onProgress?: (progress: { url: string; loaded: number; total: number; cached: true }) => void;
  /** Told when the cache could not store a model (quota, private mode); the load goes on. */
  readonly onCacheError?: (error: unknown) => void;
}

type BytesArtifact = { readonly kind: 'bytes'; readonly bytes: Uint8Array };
const refKey = (key: string): string => `${KEY_BASE}ref?k=${encodeURIComponent(key)}`;

/**
 * The browser implementation of the model store `withModelCache` works on, over the Cache API. A corrupted entry
 * is removed and the read rejects with INTEGRITY_MISMATCH (the next load downloads a fresh copy); a model is stored
 * only when it matches the sha256 its registry recorded.
 */
export function createBrowserModelStore(options: BrowserModelStoreOptions): ModelStore<BytesArtifact> {
  const entry = (bytes: Uint8Array, sha256: string): StoredModel<BytesArtifact> => ({
    sha256,
    size: bytes.byteLength,
    artifact: { kind: 'bytes', bytes },
  });
  const storage = async (): Promise<Cache | undefined> => {
    const c = await options.open();
    return c instanceof CacheStorageModelCache ? c.cache : undefined;
  };
  return {
    root: 'the Cache API',
    async open(sha256, hooks) {
      const digest = sha256.toLowerCase();
      const bytes = await (await options.open())?.get(digest);
      if (bytes === undefined) return undefined;
      if (hooks?.url !== undefined)
        options.onProgress?.({ url: hooks.url, loaded: bytes.byteLength, total: bytes.byteLength, cached: true });
      return entry(bytes, digest);
    },
    obtain: async (file) => {
      const bytes = await options.download(file.url);
      return { ...entry(bytes, await sha256Hex(bytes)), downloaded: bytes.byteLength };
    },
    async admit(artifact, expected) {
      const bytes = artifact.kind === 'bytes' ? artifact.bytes : await options.download(artifact.path);
      const actual = await sha256Hex(bytes);
      const store = await options.open();
      // Only bytes that match what the registry recorded are kept; loadModel reports a mismatch.
      if (store && expected.sha256 !== undefined && actual === expected.sha256.toLowerCase())
        await store.put(actual, bytes).catch(options.onCacheError);
      return { ...entry(bytes, actual), downloaded: artifact.kind === 'bytes' ? 0 : bytes.byteLength };
    },
    async readRef(key) {
      const response = await (await storage())?.match(refKey(key)).catch(() => undefined);
      const record = response ? ((await response.json().catch(() => undefined)) as RefRecord | undefined) : undefined;
      return record?.key === key && typeof record.resolved === 'object' ? record : undefined;
    },
    async writeRef(record) {
      await (
        await storage()
      )?.put(
        refKey(record.key),
        new Response(JSON.stringify(record), { headers: { 'content-type': 'application/json' } }),
      );
    },
  };
}
