import { createHash } from 'node:crypto';
import { redactUrl } from '../../core/redact.js';
import { parseRemoteRef } from '../../core/remote-ref.js';
import { ModelshipError } from '../../errors/index.js';
import type { CachedBlob } from '../../platform/node/cache/model-cache.js';
import type { StoredModel } from '../../platform/model-store.js';
import type { CachedFileArtifact } from '../../platform/node/cache/model-store.js';
import type { RegistryCallOptions, RegistryWarning } from '../../spec/registry.js';
import { recordDownload, recordOfflineFallback } from '../../telemetry/registry-metrics.js';
import type { RemoteOptions } from '../kit/remote-options.js';
import { createRemoteStore, httpClientSettings } from '../kit/remote-store.js';
import { gsModelFile } from '../../clients/gcp/gs-url.js';
import { isOutage } from '../kit/with-model-cache.js';

/** Options for {@link fetchModelUrl}: the shared remote options plus the call's callbacks. */
export type FetchUrlOptions = RemoteOptions & Pick<RegistryCallOptions, 'signal'>;

/**
 * Brings the model at `ref` (`https://host/m.onnx#sha256=…`, `s3://bucket/key`, `gs://bucket/object`) into the cache
 * and returns the pinned cached file. A `#sha256=` pin is verified, and a pinned model already cached is used without any request.
 * When the host cannot be reached, the last download of the same URL is used with a warning; REGISTRY_UNAVAILABLE
 * when there is none.
 */
export async function fetchModelUrl(ref: string, options: FetchUrlOptions): Promise<CachedBlob> {
  const { url, sha256, scheme } = parseRemoteRef(ref);
  const { store } = createRemoteStore(options);
  const warn = (warning: RegistryWarning): void => {
    try {
      options.onWarning?.(warning);
    } catch {
      // A throwing listener must not turn a successful load into a failure.
    }
  };
  const blobOf = (m: StoredModel<CachedFileArtifact>): CachedBlob => ({
    path: m.artifact.path,
    sha256: m.sha256,
    size: m.size,
    release: m.artifact.release,
  });
  // The manifest is plain text on disk: key it by a hash of the full URL, never by a presigned query string.
  const publicUrl = redactUrl(url);
  const key = `url\nref ${publicUrl}#${createHash('sha256').update(url).digest('hex')}`;
  try {
    // gs:// goes through Cloud Storage's JSON API with ADC credentials, its md5Hash/crc32c checked (clients/gcp).
    const located =
      scheme === 'gs'
        ? await gsModelFile(url, httpClientSettings(options), {
            ...(sha256 === undefined ? {} : { sha256 }),
            ...(options.signal === undefined ? {} : { signal: options.signal }),
          })
        : { url };
    const got = await store.obtain(
      {
        ...located,
        key: `url\nurl ${url}`,
        ...(sha256 === undefined ? {} : { sha256 }),
        onDamaged: (damage) =>
          warn({
            code: 'CACHE_REPAIRED',
            message: `The cached copy of ${publicUrl} did not match its sha256 ${damage.sha256.slice(0, 12)}… (it has ${damage.actual.sha256.slice(0, 12)}…, ${damage.actual.size} bytes): it was removed and is downloaded again from the url registry.`,
            registry: 'url',
            ref: publicUrl,
          }),
      },
      { ...(options.signal === undefined ? {} : { signal: options.signal }) },
    );
    if (got.downloaded > 0) recordDownload('url', got.downloaded);
    const blob = blobOf(got);
    const previous = await store.readRef(key);
    if (previous?.sha256 !== blob.sha256) {
      await store
        .writeRef({
          key,
          resolvedAt: new Date().toISOString(),
          resolved: { url: publicUrl },
          sha256: blob.sha256,
          size: blob.size,
        })
        .catch(() => undefined);
    }
    return blob;
  } catch (error) {
    if (!isOutage(error)) throw error;
    const record = await store.readRef(key);
    const hit =
      record?.sha256 === undefined || (sha256 !== undefined && record.sha256 !== sha256)
        ? undefined
        : await store.open(record.sha256);
    const blob = hit === undefined ? undefined : blobOf(hit);
    if (record === undefined || blob === undefined) {
      throw new ModelshipError(
        'REGISTRY_UNAVAILABLE',
        `${(error as Error).message} Nothing is cached for ${publicUrl} to fall back on (cache: ${store.root}).`,
        { cause: error, details: { url: publicUrl } },
      );
    }
    recordOfflineFallback('url', publicUrl.split('/').pop() ?? 'model');
    warn({
      code: 'REGISTRY_OFFLINE',
      message: `${publicUrl} is unreachable (${(error as Error).message}); serving the copy downloaded at ${record.resolvedAt} (sha256 ${blob.sha256.slice(0, 12)}…).`,
      registry: 'url',
      ref: publicUrl,
      resolvedAt: record.resolvedAt,
      cause: error as Error,
    });
    return blob;
  }
}
