import { createHash } from 'node:crypto';
import { redactUrl } from '../../core/redact.js';
import { parseRemoteRef } from '../../core/remote-ref.js';
import { ModelshipError } from '../../errors/index.js';
import type { CachedBlob } from '../../platform/node/cache/model-cache.js';
import type { RegistryCallOptions } from '../../spec/registry.js';
import { createRemoteContext, isOutage } from '../remote/remote-context.js';
import type { RemoteOptions } from '../remote/remote-options.js';

/** Options for {@link fetchModelUrl}: the shared remote options plus the call's callbacks. */
export type FetchUrlOptions = RemoteOptions & Pick<RegistryCallOptions, 'signal'>;

/**
 * Brings the model at `ref` (`https://host/m.onnx#sha256=…`, `s3://bucket/key`) into the cache and returns the
 * pinned cached file. A `#sha256=` pin is verified, and a pinned model already cached is used without any request.
 * When the host cannot be reached, the last download of the same URL is used with a warning; REGISTRY_UNAVAILABLE
 * when there is none.
 */
export async function fetchModelUrl(ref: string, options: FetchUrlOptions): Promise<CachedBlob> {
  const { url, sha256 } = parseRemoteRef(ref);
  const ctx = createRemoteContext('url', 'url', options);
  // The manifest is plain text on disk: key it by a hash of the full URL, never by a presigned query string.
  const publicUrl = redactUrl(url);
  const key = `url\nref ${publicUrl}#${createHash('sha256').update(url).digest('hex')}`;
  const callOptions: RegistryCallOptions = { ...(options.signal === undefined ? {} : { signal: options.signal }) };
  try {
    const blob = await ctx.obtain({ url, ...(sha256 === undefined ? {} : { sha256 }) }, callOptions);
    const previous = await ctx.cache.readRef(key);
    if (previous?.sha256 !== blob.sha256) {
      await ctx.cache
        .writeRef({ key, resolvedAt: new Date().toISOString(), resolved: { url: publicUrl }, sha256: blob.sha256, size: blob.size })
        .catch(() => undefined);
    }
    return blob;
  } catch (error) {
    if (!isOutage(error)) throw error;
    const record = await ctx.cache.readRef(key);
    const blob = record?.sha256 === undefined || (sha256 !== undefined && record.sha256 !== sha256) ? undefined : await ctx.cache.open(record.sha256);
    if (record === undefined || blob === undefined) {
      throw new ModelshipError(
        'REGISTRY_UNAVAILABLE',
        `${(error as Error).message} Nothing is cached for ${publicUrl} to fall back on (cache: ${ctx.cache.root}).`,
        { cause: error, details: { url: publicUrl } },
      );
    }
    ctx.offline(
      callOptions,
      {
        code: 'REGISTRY_OFFLINE',
        message: `${publicUrl} is unreachable (${(error as Error).message}); serving the copy downloaded at ${record.resolvedAt} (sha256 ${blob.sha256.slice(0, 12)}…).`,
        registry: 'url',
        ref: publicUrl,
        resolvedAt: record.resolvedAt,
        cause: error as Error,
      },
      publicUrl.split('/').pop() ?? 'model',
    );
    return blob;
  }
}
