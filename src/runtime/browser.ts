/**
 * The browser composition root: `loadModel` and `createDeployment` bound to the browser serving runtime
 * (`serving/browser-runtime.ts`: onnxruntime-web, URLs fetched through the Cache API, registries wrapped so
 * their downloads are cached by sha256), and that cache. `modelship/browser` re-exports this list.
 */
import type { Deployment, DeploymentOptions } from '../routing/index.js';
import { createDeploymentWith } from './deployment.js';
import { splitBrowserLoadOptions, type BrowserLoadModelOptions } from '../serving/browser-load-options.js';
import { createBrowserRuntime, isUrlRef } from '../serving/browser-runtime.js';
import { loadModelWith, type ModelRef } from '../serving/load-model.js';
import { defaultLogger } from '../serving/logger.js';
import type { Model } from '../serving/model.js';

export type { BrowserLoadModelOptions } from '../serving/browser-load-options.js';
export { clearModelCache, DEFAULT_CACHE_NAME } from '../platform/browser/model-cache.js';

/** `mnist` for `https://host/models/mnist.onnx?v=2`, when the last path segment makes a valid model name. */
function urlStem(ref: ModelRef): string | undefined {
  if (ref instanceof Uint8Array) return undefined;
  const text = ref instanceof URL ? ref.href : ref;
  if (typeof text !== 'string' || !isUrlRef(text)) return undefined;
  try {
    const last = new URL(text, 'https://base.invalid/').pathname.split('/').pop() ?? '';
    const stem = decodeURIComponent(last).replace(/\.onnx$/i, '');
    return /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(stem) ? stem : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Loads a model in the browser (or a Web Worker) on onnxruntime-web: fetches the file from its URL — or
 * resolves a named reference in `options.registry` — through the Cache API (keyed by sha256, verified with
 * Web Crypto, so a reload makes no request for the model), verifies it, creates a session, reads the
 * signature and starts warm-up. Same `Model` API and error codes as the Node build.
 *
 * @example
 * ```ts
 * import { loadModel } from 'modelship/browser';
 * const model = await loadModel('/models/mnist.onnx', {
 *   onProgress: ({ loaded, total }) => console.log(loaded, total),
 * });
 * const { probabilities } = await model.predict([pixels]);
 * ```
 */
export async function loadModel(ref: ModelRef, options?: BrowserLoadModelOptions): Promise<Model> {
  const { browser, common } = splitBrowserLoadOptions(options);
  const runtime = createBrowserRuntime({
    ...browser,
    ...(typeof common.sha256 === 'string' ? { sha256: common.sha256 } : {}),
    ...(common.signal ? { signal: common.signal } : {}),
    logger: common.logger ?? defaultLogger,
  });
  const name = common.name ?? urlStem(ref);
  const { registry } = common;
  // Only a real adapter is wrapped; anything else goes through as given, so loadModelWith reports INVALID_OPTIONS.
  const cacheable = typeof registry?.resolve === 'function' && typeof registry.fetch === 'function';
  return loadModelWith(runtime, ref, {
    ...common,
    ...(name === undefined ? {} : { name }),
    ...(registry && cacheable ? { registry: runtime.withCache(registry) } : {}),
  });
}

/**
 * `createDeployment` in browsers: the same canary, shadow, blue-green and guardrails as on Node, with versions
 * loaded by the browser `loadModel` (onnxruntime-web, Cache API).
 *
 * @example
 * ```ts
 * const mnist = await createDeployment({ name: 'mnist', stable: '/models/mnist-v1.onnx', shadow: { ref: '/models/mnist-v2.onnx' } });
 * const { outputs, version } = await mnist.predict([pixels]);
 * ```
 */
export function createDeployment(options: DeploymentOptions): Promise<Deployment> {
  return createDeploymentWith((ref, opts) => loadModel(ref, opts as BrowserLoadModelOptions), options);
}
