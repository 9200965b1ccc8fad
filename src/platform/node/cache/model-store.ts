import { copyFile, writeFile } from 'node:fs/promises';
import type { ModelFile, ModelStore, StoredModel, StoreRequest, TransferOptions } from '../../model-store.js';
import type { RemoteSources } from '../sources.js';
import { createModelCache, type CachedBlob, type ModelCache } from './model-cache.js';

/** A cached model file, pinned until `release()`; `sha256` is its verified content digest. */
export interface CachedFileArtifact {
  readonly kind: 'file';
  readonly path: string;
  readonly sha256: string;
  readonly release: () => void;
}

/** Options of {@link createNodeModelStore}. */
export interface NodeModelStoreOptions {
  /** Cache root (see `defaultCacheDir`). */
  readonly cacheDir?: string;
  /** Size budget of the blobs in bytes; least recently used ones are evicted past it. */
  readonly maxCacheBytes?: number;
  /** How files are downloaded (HTTP with retries, S3). */
  readonly sources: RemoteSources;
  /** Largest download accepted. */
  readonly maxDownloadBytes: number;
  /** Default progress listener (a call's own takes precedence). */
  readonly onProgress?: TransferOptions['onProgress'];
}

const stored = (blob: CachedBlob): StoredModel<CachedFileArtifact> => ({
  sha256: blob.sha256,
  size: blob.size,
  artifact: { kind: 'file', path: blob.path, sha256: blob.sha256, release: blob.release },
});

/**
 * The Node implementation of the model store: the content-addressed filesystem cache (`createModelCache`), with
 * downloads streamed straight into its temp area through `sources`, so a model never passes through memory.
 */
export function createNodeModelStore(
  options: NodeModelStoreOptions,
): ModelStore<CachedFileArtifact> & { readonly cache: ModelCache } {
  const cache = createModelCache({ dir: options.cacheDir, maxBytes: options.maxCacheBytes });

  async function fillFrom(file: ModelFile, temp: string, transfer: TransferOptions): Promise<number> {
    const onProgress = transfer.onProgress ?? options.onProgress;
    const download = async (dest: string): Promise<number> =>
      (
        await options.sources.download(file.url, dest, {
          maxBytes: options.maxDownloadBytes,
          ...(transfer.signal === undefined ? {} : { signal: transfer.signal }),
          ...(file.headers === undefined ? {} : { headers: file.headers }),
          ...(onProgress === undefined ? {} : { onProgress }),
        })
      ).size;
    const downloaded = file.fill === undefined ? await download(temp) : await file.fill(temp, download, onProgress);
    await file.verify?.(temp);
    return downloaded;
  }

  async function obtain(
    file: StoreRequest,
    transfer: TransferOptions,
  ): Promise<StoredModel<CachedFileArtifact> & { downloaded: number }> {
    let downloaded = 0;
    const blob = await cache.obtain({
      key: file.key,
      url: file.url,
      ...(file.onDamaged === undefined ? {} : { onDamaged: file.onDamaged }),
      ...(file.sha256 === undefined ? {} : { sha256: file.sha256 }),
      ...(file.size === undefined ? {} : { size: file.size }),
      fill: async (temp) => {
        downloaded = await fillFrom(file, temp, transfer);
      },
    });
    return { ...stored(blob), downloaded };
  }

  return {
    root: cache.root,
    cache,
    open: async (sha256, hooks) => {
      const blob = await cache.open(sha256, hooks);
      return blob === undefined ? undefined : stored(blob);
    },
    obtain,
    // A registry that hands over bytes or a file of its own: copied into the cache, verified against `expected`.
    admit: async (artifact, expected) => {
      const blob = await cache.obtain({
        key: expected.url,
        url: expected.url,
        ...(expected.sha256 === undefined ? {} : { sha256: expected.sha256 }),
        fill: (temp) => (artifact.kind === 'bytes' ? writeFile(temp, artifact.bytes) : copyFile(artifact.path, temp)),
      });
      if (artifact.kind === 'file') artifact.release?.();
      return { ...stored(blob), downloaded: 0 };
    },
    readRef: (key) => cache.readRef(key),
    writeRef: (record) => cache.writeRef(record),
  };
}
