/**
 * A small document a registry keeps beside its models for a fleet of replicas (a deployment's routing state),
 * with an etag that changes on every write. Adapters that can store one offer `sharedState`; deployments with
 * `fleet` feature-detect it.
 */
export interface SharedStateEntry {
  /** Opaque; changes on every write. */
  readonly etag: string;
  /** The document as written (JSON text). */
  readonly document: string;
}

/** The outcome of a compare-and-set: written with its new etag, or refused because the stored etag differed. */
export type SharedStateWrite =
  { readonly written: true; readonly etag: string } | { readonly written: false; readonly reason: 'conflict' };

/** Options for shared-state calls. */
export interface SharedStateCallOptions {
  readonly signal?: AbortSignal;
}

/**
 * Compare-and-set storage of small documents under a key (a deployment's name). `write` succeeds only when the
 * stored etag is still `ifMatch` (`null`: only when nothing is stored yet), so of two replicas writing from the
 * same read exactly one succeeds; the other reads again and decides anew.
 */
export interface SharedStateStore {
  /** The stored document, or undefined when none was written. */
  read(key: string, options?: SharedStateCallOptions): Promise<SharedStateEntry | undefined>;
  /** Writes `document` if the stored etag is `ifMatch` (`null`: if nothing is stored). */
  write(
    key: string,
    document: string,
    ifMatch: string | null,
    options?: SharedStateCallOptions,
  ): Promise<SharedStateWrite>;
}
