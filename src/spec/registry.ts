import type { ModelLineage } from './lineage.js';
import type { SharedStateStore } from './shared-state.js';

/**
 * What a registry knows about one model version after resolving a reference such as `mnist@production`.
 */
export interface ResolvedModel {
  readonly name: string;
  /** Version identifier as the registry spells it (`"3"`). */
  readonly version: string;
  /** Lower-case hex sha256 of the model file, when the registry records it. */
  readonly sha256?: string;
  readonly size?: number;
  /** Aliases currently pointing at this version. */
  readonly aliases: readonly string[];
  /** Free-form metadata recorded at publish time (metrics, owner, …). */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** ISO-8601 creation time. */
  readonly createdAt?: string;
  /** The reference the caller asked for, as given. */
  readonly ref: string;
  /** Adapter-specific location used by `fetch` (a path, a URL, …). */
  readonly location: string;
  /**
   * A reference that resolves to exactly this version through the same adapter (`models:/mnist/3`,
   * `wandb:acme/vision/mnist:v2`), for adapters whose references are not `name/version`. Deployments pin to it.
   */
  readonly versionRef?: string;
  /** Where the model came from (training run, git commit, data versions), when recorded at publish time. */
  readonly lineage?: ModelLineage;
}

/**
 * The bytes of a model, or a local file holding them. A file from a cache may come with `release`: call it once
 * the file is no longer read (a loaded model reads it until closed); until then the cache will not evict it. A
 * cache that has just checked the file's content against its sha256 says so in `sha256`, and the loader does not
 * hash the file again.
 */
export type ModelArtifact =
  | {
      readonly kind: 'file';
      readonly path: string;
      readonly sha256?: string;
      /** Unpins a cached file; call it once the file has been read. */
      readonly release?: () => void;
    }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array };

/** Summary of one version, as listed by `listVersions`. */
export interface ModelVersionInfo {
  readonly name: string;
  readonly version: string;
  readonly sha256?: string;
  readonly size?: number;
  readonly aliases: readonly string[];
  readonly createdAt?: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly lineage?: ModelLineage;
}

/** What `publish` takes: a model file on disk or its bytes. */
export interface PublishInput {
  readonly name: string;
  readonly file?: string;
  readonly bytes?: Uint8Array;
  readonly aliases?: readonly string[];
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** Where the model came from (a training run, a URL, a path); recorded as given. */
  readonly source?: string;
  /** Training run, git commit, data sets and data versions; see `collectLineage`. Validated, then recorded. */
  readonly lineage?: ModelLineage;
  /** A drift baseline (`createBaseline`), stored with the version; `loadModel(ref, { monitoring })` uses it. */
  readonly baseline?: unknown;
}

/** What `publish` returns. */
export interface PublishedModel extends ModelVersionInfo {
  readonly sha256: string;
  readonly size: number;
}

/** Progress of a model download. `total` is absent when the server does not announce the size. */
export interface DownloadProgress {
  /** The URL being downloaded, without its query string. */
  readonly url: string;
  readonly loaded: number;
  readonly total?: number;
}

/**
 * Something the caller should know about although the call succeeded. `REGISTRY_OFFLINE`: the registry could not
 * be reached, so the reference was answered from what it last resolved to in the local cache. `CACHE_REPAIRED`: the
 * cached copy of the model no longer matched its sha256, so it was dropped and downloaded again.
 */
export interface RegistryWarning {
  readonly code: 'REGISTRY_OFFLINE' | 'CACHE_REPAIRED';
  readonly message: string;
  /** The registry kind (`mlflow`, `http`, `url`…). */
  readonly registry: string;
  readonly ref: string;
  /** The version served from the cache. */
  readonly version?: string;
  /** When the cached answer was obtained from the registry (ISO-8601). */
  readonly resolvedAt?: string;
  /** Why the registry could not be reached. */
  readonly cause?: Error;
}

/** Options for registry calls. Adapters without downloads or fallbacks ignore the callbacks. */
export interface RegistryCallOptions {
  readonly signal?: AbortSignal;
  /** Download progress of `fetch`. */
  readonly onProgress?: (progress: DownloadProgress) => void;
  /** Receives warnings such as an answer served from the cache during a registry outage. */
  readonly onWarning?: (warning: RegistryWarning) => void;
}

/** Called when what a watched reference resolves to changes. */
export type WatchListener = (next: ResolvedModel) => void;

/** Options for `RegistryAdapter.watch`. */
export interface WatchOptions {
  /** How often to check for a change, in ms, for adapters that poll; each adapter documents its default. */
  readonly intervalMs?: number;
  /**
   * The version the caller already has (typically what it resolved and loaded). Changes are reported relative
   * to it, so a move between resolving and the first check is not missed. Without it the first check only sets
   * the baseline.
   */
  readonly since?: {
    /** Version identifier as the registry spells it (`"3"`). */
    readonly version: string;
    /** Lower-case hex sha256 of the model file; lets a reused version number still count as a change. */
    readonly sha256?: string;
    /** ISO-8601 creation time; like `sha256`, tells a re-created version apart from the original. */
    readonly createdAt?: string;
  };
  /** Receives errors hit while watching (or thrown by the listener); watching continues regardless. */
  readonly onError?: (error: Error) => void;
}

/**
 * A model registry. Adapters implement `resolve` and `fetch`; the rest is optional and feature-detected,
 * so a read-only store (a plain URL) is as valid as a full registry.
 */
export interface RegistryAdapter {
  readonly specificationVersion: 'v1';
  /** A short identifier such as `local` or `mlflow`. */
  readonly kind: string;
  /** Resolves `name`, `name/3`, `name@alias` (or an adapter's own forms) to one version. */
  resolve(ref: string, options?: RegistryCallOptions): Promise<ResolvedModel>;
  /** Gives the model's bytes or a local file holding them. */
  fetch(model: ResolvedModel, options?: RegistryCallOptions): Promise<ModelArtifact>;
  /** Every version of a model, oldest first (optional). */
  listVersions?(name: string, options?: RegistryCallOptions): Promise<ModelVersionInfo[]>;
  /** Adds a model file as a new version and sets its aliases (optional: read-only registries omit it). */
  publish?(input: PublishInput, options?: RegistryCallOptions): Promise<PublishedModel>;
  /** Points an alias at a version, moving it if it pointed elsewhere (optional). */
  setAlias?(name: string, alias: string, version: string): Promise<void>;
  /** Removes an alias; the version stays (optional). */
  deleteAlias?(name: string, alias: string): Promise<void>;
  /** Calls `listener` whenever `ref` starts resolving to another version. Returns a function that stops watching. */
  watch?(ref: string, listener: WatchListener, options?: WatchOptions): () => void;
  /** Compare-and-set documents kept in the registry: what a deployment with `fleet` shares with its replicas. */
  readonly sharedState?: SharedStateStore;
}
