import { isPathRef } from '../core/ref.js';
import { ModelshipError } from '../errors/index.js';
import { createOnnxWebBackend } from '../backends/onnx-web/index.js';
import { fetchModel } from '../platform/browser/fetch-model.js';
import {
  createBrowserModelStore,
  DEFAULT_CACHE_NAME,
  openModelCache,
  type ModelCache,
} from '../platform/browser/model-cache.js';
import { withModelCache } from '../registries/kit/with-model-cache.js';
import type { InferenceBackend } from '../spec/backend.js';
import type { RegistryAdapter } from '../spec/registry.js';
import type { BrowserLoadOptions } from './browser-load-options.js';
import type { ServingRuntime } from './load-model.js';
import type { Logger } from './logger.js';

let sharedBackend: InferenceBackend | undefined;

/** `http:`, `https:`, `blob:` and `data:` URLs, on top of what names a file anywhere (`./x.onnx`, `/x.onnx`, `*.onnx`). */
export function isUrlRef(ref: string): boolean {
  return isPathRef(ref) || /^(https?|blob|data):/i.test(ref);
}

/** Resolves a URL reference against the page (or the worker's script) so relative URLs work as in `fetch`. */
function absoluteUrl(ref: string): string {
  const base =
    (globalThis as { document?: { baseURI?: string } }).document?.baseURI ??
    (globalThis as { location?: { href?: string } }).location?.href;
  try {
    return new URL(ref, base).href;
  } catch (cause) {
    throw new ModelshipError(
      'INVALID_REF',
      `${JSON.stringify(ref)} is not a URL${base ? '' : ' (and there is no page URL to resolve it against)'}; pass an absolute URL.`,
      { cause },
    );
  }
}

/** What one `loadModel` call brings to the runtime. */
export interface BrowserRuntimeInit extends BrowserLoadOptions {
  readonly sha256?: string;
  readonly signal?: AbortSignal;
  readonly logger: Logger;
}

/** A browser ServingRuntime for one load, plus a decorator that puts a registry's downloads in the model cache. */
export interface BrowserRuntime extends ServingRuntime {
  withCache(registry: RegistryAdapter): RegistryAdapter;
}

/**
 * The browser serving runtime: onnxruntime-web (or the given backend), model URLs fetched through the Cache
 * API, and no default registry (named references need `options.registry`).
 */
export function createBrowserRuntime(init: BrowserRuntimeInit): BrowserRuntime {
  const { logger } = init;
  let cache: Promise<ModelCache | undefined> | undefined;
  const openCache = (): Promise<ModelCache | undefined> => {
    if (init.cache === false) return Promise.resolve(undefined);
    cache ??= openModelCache(typeof init.cache === 'object' ? init.cache.name : DEFAULT_CACHE_NAME).then((c) => {
      if (!c)
        logger.debug(
          'The Cache API is not available here (insecure page, private mode or not a browser); models are downloaded on every load.',
        );
      return c;
    });
    return cache;
  };
  const onCacheError = (error: unknown): void =>
    logger.warn(
      `Could not store the model in the Cache API (${(error as Error).message}); it will be downloaded again next time.`,
    );
  const common = {
    ...(init.onProgress ? { onProgress: init.onProgress } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
    ...(init.fetch ? { fetch: init.fetch } : {}),
    onCacheError,
  };

  return {
    platform: 'onnxruntime_onnx',
    backend: async () => init.backend ?? (sharedBackend ??= createOnnxWebBackend({ logger })),
    isPathRef: isUrlRef,
    async readFile(ref: string): Promise<Uint8Array> {
      const store = await openCache();
      return fetchModel(absoluteUrl(ref), {
        ...common,
        ...(store ? { cache: store } : {}),
        ...(init.sha256 ? { sha256: init.sha256 } : {}),
      });
    },
    defaultRegistry(): RegistryAdapter {
      throw new ModelshipError(
        'INVALID_REF',
        'In the browser, a named reference ("mnist@production") needs options.registry; or pass the model file\'s URL ("/models/mnist.onnx").',
      );
    },
    withCache(registry: RegistryAdapter): RegistryAdapter {
      const store = createBrowserModelStore({
        open: openCache,
        download: (url) => fetchModel(absoluteUrl(url), common),
        onCacheError,
        ...(init.onProgress ? { onProgress: init.onProgress } : {}),
      });
      return withModelCache(registry, store);
    },
  };
}
