import { redactUrl } from '../../core/redact.js';
import { ModelshipError } from '../../errors/index.js';
import { createModelCache, type BlobDamage, type CachedBlob, type ModelCache } from '../../platform/node/cache/model-cache.js';
import { fetchTransport, undiciTransport } from '../../platform/node/transport.js';
import { createRemoteSources, type RemoteSources } from '../../platform/node/sources.js';
import type { RegistryCallOptions, RegistryWarning, ResolvedModel } from '../../spec/registry.js';
import { recordDownload, recordOfflineFallback } from '../../telemetry/registry-metrics.js';
import { REMOTE_DEFAULTS, type RemoteOptions } from './remote-options.js';

/** One file of a model to bring into the cache. */
export interface RemoteFile {
  readonly url: string;
  readonly sha256?: string;
  readonly size?: number;
  /** Headers for this URL only (the registry's credentials, for its own origin). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Checks the downloaded file before it enters the cache (e.g. W&B's base64 MD5); throws to discard it. */
  readonly verify?: (path: string) => Promise<void>;
  /**
   * Produces the blob's content in `temp` instead of downloading `url` as is (e.g. the `.onnx` file extracted from a
   * `model.tar.gz`). Receives a download function for `url`; returns the number of bytes downloaded.
   */
  readonly fill?: (temp: string, download: (dest: string) => Promise<number>) => Promise<number>;
}

/** What remote adapters share: the cache, the sources, and the outage fallback. */
export interface RemoteContext {
  readonly kind: string;
  readonly cache: ModelCache;
  readonly sources: RemoteSources;
  readonly maxDownloadBytes: number;
  /**
   * Runs `online` (the registry lookup) and records its answer. When the registry cannot be reached, answers with
   * what `ref` last resolved to (whose model is still cached), with a warning; REGISTRY_UNAVAILABLE otherwise.
   */
  resolve(ref: string, options: RegistryCallOptions | undefined, online: () => Promise<ResolvedModel>): Promise<ResolvedModel>;
  /**
   * The blob of `model` from the cache when its digest (or the digest it had when last fetched) is cached;
   * otherwise downloads `file()` into the cache. Records the digest for the next offline start.
   */
  fetch(model: ResolvedModel, options: RegistryCallOptions | undefined, file: () => Promise<RemoteFile>): Promise<CachedBlob>;
  /** Downloads (or reuses) one file by URL, without ref bookkeeping; a damaged cached copy is replaced with a warning. */
  obtain(file: RemoteFile, options: RegistryCallOptions | undefined, onDamaged?: (damage: BlobDamage) => void): Promise<CachedBlob>;
  /** Reports a fallback to the cache: warning to the call's and the registry's listeners, and the metric. */
  offline(options: RegistryCallOptions | undefined, warning: RegistryWarning, modelName: string): void;
}

/** True for failures that mean "the registry is unreachable right now", as opposed to a definite answer. */
export function isOutage(error: unknown): boolean {
  return ModelshipError.hasCode(error, 'REGISTRY_UNAVAILABLE') && error.retryable;
}

/**
 * Builds the context of a remote registry. `identity` distinguishes registries in the shared cache manifest
 * (e.g. `mlflow https://mlflow.example.com`); it must not contain credentials.
 */
export function createRemoteContext(kind: string, identity: string, options: RemoteOptions): RemoteContext {
  const cache = createModelCache({ dir: options.cacheDir, maxBytes: options.maxCacheBytes });
  const sources = createRemoteSources(
    {
      transport: options.fetch !== undefined ? fetchTransport(options.fetch) : undiciTransport(options.dispatcher),
      timeoutMs: options.timeoutMs ?? REMOTE_DEFAULTS.timeoutMs,
      retries: options.retries ?? REMOTE_DEFAULTS.retries,
      backoff: { baseMs: options.retryDelayMs ?? REMOTE_DEFAULTS.retryDelayMs, maxMs: options.maxRetryDelayMs ?? REMOTE_DEFAULTS.maxRetryDelayMs },
    },
    options.s3,
  );
  const maxDownloadBytes = options.maxDownloadBytes ?? REMOTE_DEFAULTS.maxDownloadBytes;
  const refKey = (ref: string): string => `${identity}\nref ${ref}`;
  const versionKey = (model: ResolvedModel): string => `${identity}\nversion ${model.name}/${model.version}`;

  function warn(options: RegistryCallOptions | undefined, warning: RegistryWarning): void {
    for (const sink of new Set([options?.onWarning, optionsOnWarning])) {
      try {
        sink?.(warning);
      } catch {
        // A throwing listener must not turn a successful fallback into a failure.
      }
    }
  }
  const optionsOnWarning = options.onWarning;

  function offline(callOptions: RegistryCallOptions | undefined, warning: RegistryWarning, modelName: string): void {
    recordOfflineFallback(kind, modelName);
    warn(callOptions, warning);
  }

  /** The cached copy was damaged (and removed) and the registry cannot be reached to download it again. */
  function damagedAndOffline(what: string, damage: BlobDamage, cause: unknown): ModelshipError {
    return new ModelshipError(
      'REGISTRY_UNAVAILABLE',
      `The cached copy of ${what} is damaged (sha256 ${damage.actual.sha256.slice(0, 12)}…, ${damage.actual.size} bytes, instead of ${damage.sha256.slice(0, 12)}…) and was removed, and the ${kind} registry cannot be reached to download it again (${(cause as Error).message}). Retry once the registry is reachable.`,
      { cause, details: { sha256: damage.sha256 } },
    );
  }

  /** Tells the call's and the registry's listeners that a damaged cached copy is being replaced. */
  function repaired(callOptions: RegistryCallOptions | undefined, what: string, ref: string, damage: BlobDamage, version?: string): void {
    warn(callOptions, {
      code: 'CACHE_REPAIRED',
      message: `The cached copy of ${what} did not match its sha256 ${damage.sha256.slice(0, 12)}… (it has ${damage.actual.sha256.slice(0, 12)}…, ${damage.actual.size} bytes): it was removed and is downloaded again from the ${kind} registry.`,
      registry: kind,
      ref,
      ...(version === undefined ? {} : { version }),
    });
  }

  async function resolve(ref: string, callOptions: RegistryCallOptions | undefined, online: () => Promise<ResolvedModel>): Promise<ResolvedModel> {
    let resolved: ResolvedModel;
    try {
      resolved = await online();
    } catch (error) {
      if (!isOutage(error)) throw error;
      const record = await cache.readRef(refKey(ref));
      let damage: BlobDamage | undefined;
      const blob = record?.sha256 === undefined ? undefined : await cache.open(record.sha256, { onDamaged: (d) => (damage = d) });
      if (damage !== undefined) throw damagedAndOffline(ref, damage, error);
      if (record === undefined || blob === undefined) {
        throw new ModelshipError(
          'REGISTRY_UNAVAILABLE',
          `${(error as Error).message} Nothing is cached for ${JSON.stringify(ref)} to fall back on (cache: ${cache.root}); it is served from the cache only after one successful load.`,
          { cause: error, details: { ref } },
        );
      }
      blob.release();
      const cached = { ...(record.resolved as unknown as ResolvedModel), ref, sha256: record.sha256, size: record.size } as ResolvedModel;
      offline(callOptions, {
        code: 'REGISTRY_OFFLINE',
        message: `The ${kind} registry is unreachable (${(error as Error).message}); serving ${JSON.stringify(ref)} as ${cached.name}/${cached.version}, what it resolved to at ${record.resolvedAt}.`,
        registry: kind,
        ref,
        version: cached.version,
        resolvedAt: record.resolvedAt,
        cause: error as Error,
      }, cached.name);
      return cached;
    }
    // Keep the digest learnt by an earlier fetch of the same version, so an offline start can find the blob.
    const previous = await cache.readRef(refKey(ref));
    const known = resolved.sha256 ?? (previous?.resolved.name === resolved.name && previous?.resolved.version === resolved.version ? previous.sha256 : undefined);
    await cache
      .writeRef({
        key: refKey(ref),
        resolvedAt: new Date().toISOString(),
        resolved: JSON.parse(JSON.stringify(resolved)) as Record<string, unknown>,
        ...(known === undefined ? {} : { sha256: known, size: resolved.size ?? previous?.size }),
      })
      .catch(() => undefined);
    return resolved;
  }

  async function obtain(file: RemoteFile, callOptions: RegistryCallOptions | undefined, onDamaged?: (damage: BlobDamage) => void): Promise<CachedBlob> {
    const onProgress = callOptions?.onProgress ?? options.onProgress;
    let downloaded = 0;
    const blob = await cache.obtain({
      key: `${identity}\nurl ${file.url}`,
      url: file.url,
      onDamaged: onDamaged ?? ((damage) => repaired(callOptions, redactUrl(file.url), redactUrl(file.url), damage)),
      ...(file.sha256 === undefined ? {} : { sha256: file.sha256 }),
      ...(file.size === undefined ? {} : { size: file.size }),
      fill: async (temp) => {
        const download = async (dest: string): Promise<number> =>
          (
            await sources.download(file.url, dest, {
              maxBytes: maxDownloadBytes,
              ...(callOptions?.signal === undefined ? {} : { signal: callOptions.signal }),
              ...(file.headers === undefined ? {} : { headers: file.headers }),
              ...(onProgress === undefined ? {} : { onProgress }),
            })
          ).size;
        downloaded = file.fill === undefined ? await download(temp) : await file.fill(temp, download);
        await file.verify?.(temp);
      },
    });
    if (downloaded > 0) recordDownload(kind, downloaded);
    return blob;
  }

  async function fetch(model: ResolvedModel, callOptions: RegistryCallOptions | undefined, file: () => Promise<RemoteFile>): Promise<CachedBlob> {
    const byVersion = model.sha256 === undefined ? await cache.readRef(versionKey(model)) : undefined;
    const known = model.sha256 ?? byVersion?.sha256;
    const what = `${model.name}/${model.version}`;
    let damage: BlobDamage | undefined;
    const onDamaged = (d: BlobDamage): void => {
      damage = d;
      repaired(callOptions, what, model.ref, d, model.version);
    };
    let blob = known === undefined ? undefined : await cache.open(known, { onDamaged });
    if (blob === undefined) {
      try {
        const source = await file();
        blob = await obtain({ ...source, sha256: source.sha256 ?? model.sha256, size: source.size ?? model.size }, callOptions, onDamaged);
      } catch (error) {
        if (damage !== undefined && isOutage(error)) throw damagedAndOffline(what, damage, error);
        throw error;
      }
    }
    const fetched = blob;
    const plain = JSON.parse(JSON.stringify(model)) as Record<string, unknown>;
    // Only what changed is written: a load served from the cache rewrites nothing (and keeps its resolvedAt).
    await Promise.all(
      [versionKey(model), refKey(model.ref)].map(async (key) => {
        const current = key === versionKey(model) ? byVersion ?? (await cache.readRef(key)) : await cache.readRef(key);
        if (current?.sha256 === fetched.sha256 && current.resolved.version === model.version) return;
        await cache.writeRef({ key, resolvedAt: current?.resolvedAt ?? new Date().toISOString(), resolved: plain, sha256: fetched.sha256, size: fetched.size });
      }),
    ).catch(() => undefined);
    return fetched;
  }

  return { kind, cache, sources, maxDownloadBytes, resolve, fetch, obtain, offline };
}
