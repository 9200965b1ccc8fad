import { ModelshipError } from '../../errors/index.js';
import type { BlobDamage, ModelFile, ModelStore, StoredModel } from '../../platform/model-store.js';
import type {
  ModelArtifact,
  RegistryAdapter,
  RegistryCallOptions,
  RegistryWarning,
  ResolvedModel,
  WatchListener,
} from '../../spec/registry.js';
import { throwIfAborted } from '../errors.js';
import { recordDownload, recordOfflineFallback } from '../../telemetry/registry-metrics.js';
import { pollRef, type PollWatchOptions } from './poll-ref.js';

/** What `withModelCache` can use beyond the spec: a driver from `defineRegistry` has all of it. */
export interface CacheableRegistry extends RegistryAdapter {
  /** Tells registries apart in a shared cache manifest (`mlflow https://host`); never holds credentials. */
  readonly identity?: string;
  /** Where the model file is, so the cache downloads it straight into its own storage. */
  locate?(model: ResolvedModel, options?: RegistryCallOptions): Promise<ModelFile>;
  /** The name the cache's version bookkeeping uses for `model` (default `model.name`). */
  cacheName?(model: ResolvedModel): string;
  /** Throws when `model` cannot have come from this registry; checked before the cache is looked at. */
  validate?(model: ResolvedModel): void;
  /** Set when `watch` should poll through the cache (an outage answered from it) rather than the registry. */
  readonly watchThroughCache?: { readonly intervalMs: number; readonly jitter: number; parseRef(ref: string): unknown };
}

/** Options of {@link withModelCache}. */
export interface ModelCacheDecoratorOptions {
  /** Receives every warning (besides the call's own `onWarning`): outage fallbacks, repaired copies. */
  readonly onWarning?: (warning: RegistryWarning) => void;
}

/** A registry whose `fetch` answers from the cache, with `A` the cache's artifact type. */
export type CachedRegistry<R extends RegistryAdapter, A extends ModelArtifact> = Omit<
  R,
  'fetch' | 'locate' | 'cacheName' | 'validate' | 'identity' | 'watchThroughCache'
> & {
  fetch(model: ResolvedModel, options?: RegistryCallOptions): Promise<A>;
};

/** True for failures that mean "the registry is unreachable right now", as opposed to a definite answer. */
export function isOutage(error: unknown): boolean {
  return ModelshipError.hasCode(error, 'REGISTRY_UNAVAILABLE') && error.retryable;
}

/**
 * Puts a model cache around a registry: models are kept by sha256 and served from the cache when their digest is
 * known; when the registry cannot be reached, a reference is answered with what it last resolved to (warning
 * `REGISTRY_OFFLINE`); a cached copy that no longer matches its digest is dropped and downloaded again (warning
 * `CACHE_REPAIRED`); downloads and fallbacks are counted in the registry metrics. Node passes the filesystem
 * cache, browsers the Cache API; both implement {@link ModelStore}.
 *
 * @example
 * ```ts
 * const registry = withModelCache(mlflowDriver, createNodeModelStore({ sources, maxDownloadBytes }));
 * const artifact = await registry.fetch(await registry.resolve('models:/mnist@production'));
 * ```
 */
export function withModelCache<R extends CacheableRegistry, A extends ModelArtifact>(
  driver: R,
  store: ModelStore<A>,
  decoratorOptions: ModelCacheDecoratorOptions = {},
): CachedRegistry<R, A> {
  const { kind } = driver;
  const identity = driver.identity ?? kind;
  const refKey = (ref: string): string => `${identity}\nref ${ref}`;
  const versionKey = (name: string, version: string): string => `${identity}\nversion ${name}/${version}`;
  const listener = decoratorOptions.onWarning;

  function warn(options: RegistryCallOptions | undefined, warning: RegistryWarning): void {
    for (const sink of new Set([options?.onWarning, listener])) {
      try {
        sink?.(warning);
      } catch {
        // A throwing listener must not turn a successful fallback into a failure.
      }
    }
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
  function repaired(
    options: RegistryCallOptions | undefined,
    what: string,
    ref: string,
    damage: BlobDamage,
    version?: string,
  ): void {
    warn(options, {
      code: 'CACHE_REPAIRED',
      message: `The cached copy of ${what} did not match its sha256 ${damage.sha256.slice(0, 12)}… (it has ${damage.actual.sha256.slice(0, 12)}…, ${damage.actual.size} bytes): it was removed and is downloaded again from the ${kind} registry.`,
      registry: kind,
      ref,
      ...(version === undefined ? {} : { version }),
    });
  }

  async function resolve(ref: string, options?: RegistryCallOptions): Promise<ResolvedModel> {
    let resolved: ResolvedModel;
    try {
      resolved = await driver.resolve(ref, options);
    } catch (error) {
      if (!isOutage(error)) throw error;
      const record = await store.readRef(refKey(ref));
      let damage: BlobDamage | undefined;
      const blob =
        record?.sha256 === undefined ? undefined : await store.open(record.sha256, { onDamaged: (d) => (damage = d) });
      if (damage !== undefined) throw damagedAndOffline(ref, damage, error);
      if (record === undefined || blob === undefined) {
        throw new ModelshipError(
          'REGISTRY_UNAVAILABLE',
          `${(error as Error).message} Nothing is cached for ${JSON.stringify(ref)} to fall back on (cache: ${store.root}); it is served from the cache only after one successful load.`,
          { cause: error, details: { ref } },
        );
      }
      if (blob.artifact.kind === 'file') blob.artifact.release?.();
      const cached = {
        ...(record.resolved as unknown as ResolvedModel),
        ref,
        sha256: record.sha256,
        size: record.size,
      } as ResolvedModel;
      recordOfflineFallback(kind, cached.name);
      warn(options, {
        code: 'REGISTRY_OFFLINE',
        message: `The ${kind} registry is unreachable (${(error as Error).message}); serving ${JSON.stringify(ref)} as ${cached.name}/${cached.version}, what it resolved to at ${record.resolvedAt}.`,
        registry: kind,
        ref,
        version: cached.version,
        resolvedAt: record.resolvedAt,
        cause: error as Error,
      });
      return cached;
    }
    // Keep the digest learnt by an earlier fetch of the same version, so an offline start can find the blob.
    const previous = await store.readRef(refKey(ref));
    const known =
      resolved.sha256 ??
      (previous?.resolved.name === resolved.name && previous?.resolved.version === resolved.version
        ? previous.sha256
        : undefined);
    await store
      .writeRef({
        key: refKey(ref),
        resolvedAt: new Date().toISOString(),
        resolved: JSON.parse(JSON.stringify(resolved)) as Record<string, unknown>,
        ...(known === undefined ? {} : { sha256: known, size: resolved.size ?? previous?.size }),
      })
      .catch(() => undefined);
    return resolved;
  }

  /** Downloads (or finds) the model: the located file streamed into the store, else what the registry's fetch gives. */
  async function bring(
    model: ResolvedModel,
    options: RegistryCallOptions | undefined,
    onDamaged: (d: BlobDamage) => void,
  ): Promise<StoredModel<A>> {
    const transfer = {
      ...(options?.signal === undefined ? {} : { signal: options.signal }),
      ...(options?.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    };
    const got =
      driver.locate === undefined
        ? await store.admit(
            await driver.fetch(model, options),
            { url: model.location, ...(model.sha256 === undefined ? {} : { sha256: model.sha256 }) },
            transfer,
          )
        : await driver.locate(model, options).then((file) =>
            store.obtain(
              {
                ...file,
                key: `${identity}\nurl ${file.url}`,
                sha256: file.sha256 ?? model.sha256,
                size: file.size ?? model.size,
                onDamaged,
              },
              transfer,
            ),
          );
    if (got.downloaded > 0) recordDownload(kind, got.downloaded);
    return got;
  }

  async function fetch(resolved: ResolvedModel, options?: RegistryCallOptions): Promise<A> {
    throwIfAborted(options?.signal);
    driver.validate?.(resolved);
    const name = driver.cacheName?.(resolved) ?? resolved.name;
    const vKey = versionKey(name, resolved.version);
    const byVersion = resolved.sha256 === undefined ? await store.readRef(vKey) : undefined;
    const known = resolved.sha256 ?? byVersion?.sha256;
    const what = `${name}/${resolved.version}`;
    let damage: BlobDamage | undefined;
    const onDamaged = (d: BlobDamage): void => {
      damage = d;
      repaired(options, what, resolved.ref, d, resolved.version);
    };
    let blob = known === undefined ? undefined : await store.open(known, { onDamaged, url: resolved.location });
    if (blob === undefined) {
      try {
        blob = await bring(resolved, options, onDamaged);
      } catch (error) {
        if (damage !== undefined && isOutage(error)) throw damagedAndOffline(what, damage, error);
        throw error;
      }
    }
    const fetched = blob;
    const plain = JSON.parse(JSON.stringify({ ...resolved, name })) as Record<string, unknown>;
    // Only what changed is written: a load served from the cache rewrites nothing (and keeps its resolvedAt).
    await Promise.all(
      [vKey, refKey(resolved.ref)].map(async (key) => {
        const current = key === vKey ? (byVersion ?? (await store.readRef(key))) : await store.readRef(key);
        if (current?.sha256 === fetched.sha256 && current.resolved.version === resolved.version) return;
        await store.writeRef({
          key,
          resolvedAt: current?.resolvedAt ?? new Date().toISOString(),
          resolved: plain,
          sha256: fetched.sha256,
          size: fetched.size,
        });
      }),
    ).catch(() => undefined);
    return fetched.artifact;
  }

  // Everything else (listVersions, publish, setAlias, a vendor's own methods) is the driver's, unchanged.
  const {
    locate: _locate,
    cacheName: _cacheName,
    validate: _validate,
    identity: _identity,
    watchThroughCache,
    ...rest
  } = driver;
  const cached = { ...rest, resolve, fetch } as unknown as CachedRegistry<R, A>;
  if (watchThroughCache !== undefined) {
    (cached as { watch?: unknown }).watch = (ref: string, onChange: WatchListener, watchOptions?: PollWatchOptions) =>
      pollRef(
        resolve,
        watchThroughCache.intervalMs,
        ref,
        onChange,
        watchOptions,
        watchThroughCache.parseRef,
        watchThroughCache.jitter,
      );
  }
  return cached;
}
