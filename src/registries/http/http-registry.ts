import { assertModelName, parseNamedRef } from '../../core/ref.js';
import { redactUrl } from '../../core/redact.js';
import { ModelshipError } from '../../errors/index.js';
import type {
  ModelVersionInfo,
  RegistryAdapter,
  RegistryCallOptions,
  ResolvedModel,
  WatchListener,
} from '../../spec/registry.js';
import { aliasNotFound, assertVersionArgument } from '../errors.js';
import { defineRegistry } from '../kit/define-registry.js';
import type { PollWatchOptions } from '../kit/poll-ref.js';
import { createRemoteStore } from '../kit/remote-store.js';
import { withModelCache } from '../kit/with-model-cache.js';
import { parseHttpRegistryOptions, type HttpRegistryOptions } from './http-registry-options.js';
import { HTTP_INDEX_FILE, httpIndexSchema, type HttpIndex, type HttpIndexVersion } from './index-file.js';

/** A read-only registry served over HTTP(S) or S3: `<baseUrl>/<name>/index.json` plus the model files. */
export interface HttpRegistry extends RegistryAdapter {
  readonly kind: 'http';
  /** The base URL without credentials or query string. */
  readonly baseUrl: string;
  /** Downloads into the cache (or finds it there) and returns the cached file; call `release()` after reading. */
  fetch(
    model: ResolvedModel,
    options?: RegistryCallOptions,
  ): Promise<{
    readonly kind: 'file';
    readonly path: string;
    /** Unpins the cached file (the cache may evict it after); call it once the file has been read. */
    readonly release: () => void;
  }>;
  /** Every version of a model, oldest first. */
  listVersions(name: string, options?: RegistryCallOptions): Promise<ModelVersionInfo[]>;
  watch(ref: string, listener: WatchListener, options?: PollWatchOptions): () => void;
}

const compareVersions = (a: HttpIndexVersion, b: HttpIndexVersion): number => Number(a.version) - Number(b.version);

/**
 * Creates a read-only registry on a static HTTP server, a CDN or a bucket. Each model is described by
 * `<baseUrl>/<name>/index.json` (versions with their file, sha256 and size, and aliases); `writeHttpRegistryIndex`
 * writes those for a local registry directory, so `aws s3 sync ./models s3://bucket/models` publishes it.
 * Downloads go through the content-addressed cache, are verified against the index's sha256, and keep serving
 * from the cache when the server is down.
 *
 * @example
 * ```ts
 * const registry = createHttpRegistry({ baseUrl: 'https://models.example.com/registry' });
 * const model = await loadModel('mnist@production', { registry });
 * ```
 */
export function createHttpRegistry(options: HttpRegistryOptions): HttpRegistry {
  const parsed = parseHttpRegistryOptions(options);
  const base = parsed.baseUrl.replace(/\/+$/, '');
  const publicBase = redactUrl(base);
  const { store, sources } = createRemoteStore(parsed);
  const origin = /^https?:/i.test(base) ? new URL(base).origin : undefined;
  const headersFor = (url: string): Record<string, string> | undefined =>
    parsed.headers !== undefined && origin !== undefined && /^https?:/i.test(url) && new URL(url).origin === origin
      ? parsed.headers
      : undefined;

  async function readIndex(name: string, signal: AbortSignal | undefined): Promise<HttpIndex & { url: string }> {
    assertModelName(name);
    const url = `${base}/${encodeURIComponent(name)}/${HTTP_INDEX_FILE}`;
    let bytes: Uint8Array;
    try {
      bytes = await sources.getBytes(url, { signal, headers: headersFor(url) });
    } catch (error) {
      if (ModelshipError.hasCode(error, 'MODEL_NOT_FOUND')) {
        throw new ModelshipError(
          'MODEL_NOT_FOUND',
          `Model ${JSON.stringify(name)} not found: ${publicBase}/${name}/${HTTP_INDEX_FILE} does not exist.`,
          {
            details: { name },
          },
        );
      }
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (cause) {
      throw new ModelshipError(
        'REGISTRY_UNAVAILABLE',
        `${publicBase}/${name}/${HTTP_INDEX_FILE} is not valid JSON; fix the index.`,
        { cause, retryable: false },
      );
    }
    const result = httpIndexSchema.safeParse(json);
    if (!result.success) {
      throw new ModelshipError(
        'REGISTRY_UNAVAILABLE',
        `${publicBase}/${name}/${HTTP_INDEX_FILE} is not a valid index: ${result.error.issues[0]?.message ?? 'invalid'}.`,
        {
          cause: result.error,
          retryable: false,
        },
      );
    }
    return { ...result.data, url };
  }

  function info(index: HttpIndex, v: HttpIndexVersion): ModelVersionInfo {
    const aliases = Object.entries(index.aliases ?? {})
      .filter(([, version]) => version === v.version)
      .map(([alias]) => alias)
      .sort();
    return {
      name: index.name,
      version: v.version,
      sha256: v.sha256,
      size: v.size,
      aliases,
      metadata: v.metadata ?? {},
      ...(v.createdAt === undefined ? {} : { createdAt: v.createdAt }),
    };
  }

  async function resolveOnline(ref: string, signal: AbortSignal | undefined): Promise<ResolvedModel> {
    const { name, selector } = parseNamedRef(ref);
    const index = await readIndex(name, signal);
    const versions = [...index.versions].sort(compareVersions);
    if (versions.length === 0)
      throw new ModelshipError('MODEL_NOT_FOUND', `Model ${JSON.stringify(name)} has no versions in ${publicBase}.`, {
        details: { name },
      });
    let chosen: HttpIndexVersion | undefined;
    if (selector.kind === 'latest') chosen = versions.at(-1);
    else {
      const version = selector.kind === 'version' ? selector.version : index.aliases?.[selector.alias];
      if (version === undefined && selector.kind === 'alias')
        throw aliasNotFound(name, selector.alias, { ...index.aliases });
      chosen = versions.find((v) => v.version === version);
      if (chosen === undefined) {
        throw new ModelshipError(
          'VERSION_NOT_FOUND',
          `Model ${JSON.stringify(name)} has no version ${version}${selector.kind === 'alias' ? ` (alias ${JSON.stringify(selector.alias)} points at it)` : ''}. Available versions: ${versions.map((v) => v.version).join(', ')}.`,
          { details: { name, version, available: versions.map((v) => v.version) } },
        );
      }
    }
    const v = chosen as HttpIndexVersion;
    return { ...info(index, v), ref, location: new URL(v.file, index.url).href };
  }

  const driver = defineRegistry({
    kind: 'http',
    identity: `http ${publicBase}`,
    parseRef: parseNamedRef,
    resolve: resolveOnline,
    validate(model) {
      assertModelName(model.name);
      assertVersionArgument(model.version);
    },
    async locate(model) {
      if (!/^(https?|s3):\/\//i.test(model.location))
        throw new ModelshipError(
          'INVALID_ARGUMENT',
          'The resolved model has no downloadable location; resolve it with this registry.',
        );
      return { url: model.location, headers: headersFor(model.location) };
    },
    async listVersions(name, signal) {
      const index = await readIndex(name, signal);
      return [...index.versions].sort(compareVersions).map((v) => info(index, v));
    },
    // A static index has no outage-aware lookup of its own: a poll during an outage is answered from the cache.
    watch: { intervalMs: parsed.watchIntervalMs ?? 30_000, throughCache: true },
  });
  return { ...withModelCache(driver, store, parsed), kind: 'http', baseUrl: publicBase } as HttpRegistry;
}
