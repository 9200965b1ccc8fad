import { createNodeModelStore, type CachedFileArtifact } from '../../platform/node/cache/model-store.js';
import { createRemoteSources, type RemoteSources } from '../../platform/node/sources.js';
import type { ModelStore } from '../../platform/model-store.js';
import type { HttpClientConfig } from '../../platform/node/http-client.js';
import { fetchTransport, undiciTransport } from '../../platform/node/transport.js';
import { REMOTE_DEFAULTS, type RemoteOptions } from './remote-options.js';

/** What a Node remote registry is built on: the file cache `withModelCache` works on, and the download sources. */
export interface RemoteStore {
  readonly store: ModelStore<CachedFileArtifact>;
  /** HTTP(S) and S3 access with the registry's timeouts, retries and credentials (also for its own lookups). */
  readonly sources: RemoteSources;
}

/** The Node cache and sources for a registry's shared remote options (`cacheDir`, `retries`, `s3`, …). */
export function createRemoteStore(options: RemoteOptions): RemoteStore {
  const sources = createRemoteSources(httpClientSettings(options), options.s3);
  const store = createNodeModelStore({
    sources,
    maxDownloadBytes: options.maxDownloadBytes ?? REMOTE_DEFAULTS.maxDownloadBytes,
    ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
    ...(options.maxCacheBytes === undefined ? {} : { maxCacheBytes: options.maxCacheBytes }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  return { store, sources };
}

/** The HTTP client settings the shared options give (the remote defaults applied once, for every vendor client). */
export function httpClientSettings(options: RemoteOptions): HttpClientConfig {
  return {
    transport: options.fetch !== undefined ? fetchTransport(options.fetch) : undiciTransport(options.dispatcher),
    timeoutMs: options.timeoutMs ?? REMOTE_DEFAULTS.timeoutMs,
    retries: options.retries ?? REMOTE_DEFAULTS.retries,
    backoff: {
      baseMs: options.retryDelayMs ?? REMOTE_DEFAULTS.retryDelayMs,
      maxMs: options.maxRetryDelayMs ?? REMOTE_DEFAULTS.maxRetryDelayMs,
    },
  };
}
