import type { DownloadProgress, ModelArtifact } from '../spec/registry.js';

/**
 * The small cache interface `withModelCache` (src/registries/kit/with-model-cache.ts) works on. Node implements it
 * on the filesystem (`platform/node/cache/model-store.ts`), browsers on the Cache API
 * (`platform/browser/model-cache.ts`): blobs by sha256, and a manifest of what each reference last resolved to,
 * replayed when the registry cannot be reached.
 */
export interface ModelStore<A extends ModelArtifact = ModelArtifact> {
  /** Where the store keeps its data, for messages (a directory, a Cache API cache name). */
  readonly root: string;
  /**
   * The stored model with this sha256, verified, or `undefined`. A damaged copy is removed, reported to
   * `hooks.onDamaged`, and reads as absent.
   */
  open(sha256: string, hooks?: OpenHooks): Promise<StoredModel<A> | undefined>;
  /** Brings a located file into the store (downloaded once, verified, added) and returns it. */
  obtain(file: StoreRequest, options: TransferOptions): Promise<StoredModel<A> & { readonly downloaded: number }>;
  /**
   * Stores what a registry's own `fetch` gave (bytes, or a file or URL it names) and returns it. A model not matching
   * `expected.sha256` is never stored: the store rejects (INTEGRITY_MISMATCH) or returns it for the caller to verify.
   */
  admit(
    artifact: ModelArtifact,
    expected: { readonly sha256?: string; readonly url: string },
    options: TransferOptions,
  ): Promise<StoredModel<A> & { readonly downloaded: number }>;
  readRef(key: string): Promise<RefRecord | undefined>;
  writeRef(record: RefRecord): Promise<void>;
}

/** A model held in a store, as the artifact `fetch` answers with. */
export interface StoredModel<A extends ModelArtifact = ModelArtifact> {
  readonly sha256: string;
  readonly size: number;
  readonly artifact: A;
}

/** What a ref last resolved to, as recorded in the store's manifest. */
export interface RefRecord {
  /** The manifest key: registry identity + reference. */
  readonly key: string;
  /** ISO-8601 time of the resolution. */
  readonly resolvedAt: string;
  /** The registry's answer (JSON-serializable), replayed when the registry cannot be reached. */
  readonly resolved: Record<string, unknown>;
  /** The model blob it was fetched as, once fetched. */
  readonly sha256?: string;
  readonly size?: number;
}

/** A stored blob found not to match its name (bit rot, a truncated copy, an edit), and removed. */
export interface BlobDamage {
  readonly sha256: string;
  /** The digest and size the file had instead. */
  readonly actual: { readonly sha256: string; readonly size: number };
}

/** Hooks of one store read. */
export interface OpenHooks {
  /** Told when the blob was damaged and has been removed (the read then reports it absent). */
  readonly onDamaged?: (damage: BlobDamage) => void;
  /** Where the model comes from, for progress reports of a cache hit. */
  readonly url?: string;
}

/** Where a registry's model file is: what a driver's `locate` answers. */
export interface ModelFile {
  readonly url: string;
  readonly sha256?: string;
  readonly size?: number;
  /** Headers for this URL only (the registry's credentials, for its own origin). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Checks the downloaded file before it enters the store (e.g. W&B's base64 MD5); throws to discard it. */
  readonly verify?: (path: string) => Promise<void>;
  /**
   * Produces the blob's content in `temp` instead of downloading `url` as is (e.g. the `.onnx` file extracted from a
   * `model.tar.gz`). Receives a download function for `url`, and the call's progress listener for a fill that
   * transfers the bytes itself (an SDK download); returns the number of bytes downloaded.
   */
  readonly fill?: (
    temp: string,
    download: (dest: string) => Promise<number>,
    onProgress?: (progress: DownloadProgress) => void,
  ) => Promise<number>;
}

/** A {@link ModelFile} to obtain, with the store's bookkeeping. */
export interface StoreRequest extends ModelFile {
  /** Dedupe key for downloads in this process when the digest is not known in advance. */
  readonly key: string;
  /** Told when a stored copy of `sha256` was damaged and removed, before downloading again. */
  readonly onDamaged?: (damage: BlobDamage) => void;
}

/** Per-call options of a transfer into the store. */
export interface TransferOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: DownloadProgress) => void;
}
