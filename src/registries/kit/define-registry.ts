import { ModelshipError } from '../../errors/index.js';
import type { ModelFile } from '../../platform/model-store.js';
import type {
  ModelArtifact,
  ModelVersionInfo,
  PublishedModel,
  PublishInput,
  RegistryCallOptions,
  ResolvedModel,
  WatchListener,
} from '../../spec/registry.js';
import { throwIfAborted } from '../errors.js';
import { pollRef, type PollWatchOptions } from './poll-ref.js';
import type { CacheableRegistry } from './with-model-cache.js';

/** What a registry driver says about itself; `defineRegistry` adds the shared steps around it. */
export interface RegistryDefinition<P extends PublishInput = PublishInput> {
  /** A short identifier such as `mlflow`. */
  readonly kind: string;
  /** Tells registries apart in a shared cache manifest (`mlflow https://host`); never holds credentials. */
  readonly identity: string;
  /** Parses (and so validates) a reference; throws INVALID_REF. */
  parseRef(ref: string): unknown;
  /** Asks the registry what `ref` resolves to now (no cache: `withModelCache` adds the outage fallback). */
  resolve(ref: string, signal: AbortSignal | undefined): Promise<ResolvedModel>;
  /** Where the model file of `model` is; the cache downloads it. */
  locate?(model: ResolvedModel, signal: AbortSignal | undefined): Promise<ModelFile>;
  /** Gives the model directly, for drivers whose models are not one downloadable file. */
  fetch?(model: ResolvedModel, options: RegistryCallOptions | undefined): Promise<ModelArtifact>;
  /** The name the cache's version bookkeeping uses (default `model.name`). */
  cacheName?(model: ResolvedModel): string;
  /** Throws when `model` cannot have come from this registry; checked before the cache is looked at. */
  validate?(model: ResolvedModel): void;
  listVersions?(name: string, signal: AbortSignal | undefined): Promise<ModelVersionInfo[]>;
  publish?(input: P, options: RegistryCallOptions | undefined): Promise<PublishedModel>;
  setAlias?(name: string, alias: string, version: string): Promise<void>;
  deleteAlias?(name: string, alias: string): Promise<void>;
  /**
   * Polling `watch` (the shared poll loop): its default interval, the jitter spread (default 0.2), and whether a
   * poll goes through the cache (an outage answered from it) instead of straight to the registry (the default:
   * errors go to `onError`). `false`: no watch.
   */
  readonly watch?: false | { readonly intervalMs: number; readonly jitter?: number; readonly throughCache?: boolean };
}

/** The plain I/O driver `defineRegistry` yields: a {@link RegistryAdapter} that `withModelCache` can wrap. */
export type RegistryDriver<P extends PublishInput = PublishInput> = CacheableRegistry & {
  listVersions?(name: string, options?: RegistryCallOptions): Promise<ModelVersionInfo[]>;
  publish?(input: P, options?: RegistryCallOptions): Promise<PublishedModel>;
  watch?(ref: string, listener: WatchListener, options?: PollWatchOptions): () => void;
};

/**
 * Builds a registry driver from the few things that differ between registries: parsing a reference, resolving it,
 * and locating the model file. The shared steps are added here once: an aborted signal fails fast, a reference is
 * validated before any request, optional capabilities appear only when defined, and `watch` polls `resolve`.
 * Wrap the driver with `withModelCache` for downloads, the outage fallback and verification.
 *
 * @example
 * ```ts
 * const driver = defineRegistry({
 *   kind: 'vertex',
 *   identity: `vertex ${project}`,
 *   parseRef: parseVertexRef,
 *   resolve: (ref, signal) => client.resolve(ref, signal),
 *   locate: async (model) => ({ url: model.location }),
 *   watch: { intervalMs: 60_000 },
 * });
 * const registry = withModelCache(driver, store);
 * ```
 */
export function defineRegistry<P extends PublishInput = PublishInput>(
  definition: RegistryDefinition<P>,
): RegistryDriver<P> {
  const d = definition;
  const resolve = async (ref: string, options?: RegistryCallOptions): Promise<ResolvedModel> => {
    throwIfAborted(options?.signal);
    d.parseRef(ref);
    return d.resolve(ref, options?.signal);
  };
  const driver: RegistryDriver<P> = {
    specificationVersion: 'v1',
    kind: d.kind,
    identity: d.identity,
    resolve,
    async fetch(model, options) {
      throwIfAborted(options?.signal);
      d.validate?.(model);
      if (d.fetch !== undefined) return d.fetch(model, options);
      throw new ModelshipError(
        'INVALID_OPTIONS',
        `The ${d.kind} registry downloads into a model cache; wrap its driver with withModelCache.`,
      );
    },
  };
  const out = driver as { -readonly [K in keyof RegistryDriver<P>]: RegistryDriver<P>[K] };
  if (d.locate !== undefined) {
    const locate = d.locate;
    out.locate = async (model, options) => {
      throwIfAborted(options?.signal);
      return locate(model, options?.signal);
    };
  }
  if (d.cacheName !== undefined) out.cacheName = d.cacheName;
  if (d.validate !== undefined) out.validate = d.validate;
  if (d.listVersions !== undefined) {
    const list = d.listVersions;
    out.listVersions = async (name, options) => {
      throwIfAborted(options?.signal);
      return list(name, options?.signal);
    };
  }
  if (d.publish !== undefined) out.publish = d.publish;
  if (d.setAlias !== undefined) out.setAlias = d.setAlias;
  if (d.deleteAlias !== undefined) out.deleteAlias = d.deleteAlias;
  if (d.watch !== undefined && d.watch !== false) {
    const { intervalMs, jitter = 0.2, throughCache = false } = d.watch;
    const parseRef = (ref: string): unknown => d.parseRef(ref);
    if (throughCache) out.watchThroughCache = { intervalMs, jitter, parseRef };
    // Polls without the cache fallback: during an outage the errors go to onError instead of replaying the cache.
    out.watch = (ref, listener, options) =>
      pollRef((r) => d.resolve(r, undefined), intervalMs, ref, listener, options, parseRef, jitter);
  }
  return driver;
}
