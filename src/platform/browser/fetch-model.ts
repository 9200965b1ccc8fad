import { sha256Hex } from '../../core/digest.js';
import { ModelshipError } from '../../errors/index.js';
import { download, type FetchLike, type ProgressListener } from './download.js';
import type { ModelCache } from './model-cache.js';

/** Options for {@link fetchModel}. */
export interface FetchModelOptions {
  /** Where verified models are kept; without one every load downloads. */
  readonly cache?: ModelCache;
  /** The file's expected sha256: checked after download, and used to find it in the cache without a request. */
  readonly sha256?: string;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
  readonly fetch?: FetchLike;
  /** Told when the cache could not store a model (quota, private mode); the load itself goes on. */
  readonly onCacheError?: (error: unknown) => void;
}

/**
 * Gets a model file by URL, cache first. The cache is looked up by the pinned sha256, else by the sha256 this
 * URL gave last time, so a second page load makes no request for the model. A download is checked against
 * the pinned sha256 (a mismatch is INTEGRITY_MISMATCH and nothing is stored), then cached under its sha256.
 */
export async function fetchModel(url: string, options: FetchModelOptions = {}): Promise<Uint8Array> {
  const { cache, onProgress } = options;
  const pinned = options.sha256?.toLowerCase();
  const known = pinned ?? (await cache?.lookup(url));
  if (cache && known) {
    const hit = await cache.get(known);
    if (hit) {
      onProgress?.({ url, loaded: hit.byteLength, total: hit.byteLength, cached: true });
      return hit;
    }
  }
  const bytes = await download(url, {
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(onProgress ? { onProgress } : {}),
  });
  const actual = await sha256Hex(bytes);
  if (pinned !== undefined && actual !== pinned) {
    throw new ModelshipError(
      'INTEGRITY_MISMATCH',
      `The model downloaded from ${url} has sha256 ${actual}, but ${pinned} was expected. The file on the server changed or the download was altered; nothing was loaded or cached. Update the expected sha256 if the new file is intended.`,
      { details: { expected: pinned, actual } },
    );
  }
  if (cache) {
    try {
      await cache.put(actual, bytes);
      await cache.remember(url, actual);
    } catch (error) {
      options.onCacheError?.(error);
    }
  }
  return bytes;
}
