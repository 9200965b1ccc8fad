import { z } from 'zod';
import { parseOptions } from '../core/options.js';
import type { FetchLike, ProgressListener } from '../platform/browser/download.js';
import type { InferenceBackend } from '../spec/backend.js';
import type { LoadModelOptions } from './load-model-options.js';

const isFunction = (v: unknown): boolean => typeof v === 'function';
const isBackend = (v: unknown): v is InferenceBackend =>
  typeof v === 'object' && v !== null && typeof (v as InferenceBackend).createSession === 'function';

/** The options only the browser build of `loadModel` has, on top of the shared ones. */
export const browserLoadOptionsSchema = z.strictObject({
  /** Called as the model downloads (`{ url, loaded, total?, cached }`); once with `cached: true` on a cache hit. */
  onProgress: z.custom<ProgressListener>(isFunction, 'onProgress must be a function').optional(),
  /**
   * Keep downloaded models in the Cache API, keyed by sha256 and verified on every read (default `true`).
   * `false` downloads every time; `{ name }` uses another cache than `modelship-models`.
   */
  cache: z.union([z.boolean(), z.strictObject({ name: z.string().min(1) })]).optional(),
  /** The inference backend: `createWorkerBackend(worker)` to run off the main thread, or a configured `createOnnxWebBackend()`. */
  backend: z
    .custom<InferenceBackend>(isBackend, 'backend must implement createSession(), e.g. createOnnxWebBackend()')
    .optional(),
  /** The `fetch` used for model URLs (defaults to the global one). */
  fetch: z.custom<FetchLike>(isFunction, 'fetch must be a function').optional(),
});

/** Options for `loadModel` in the browser build. */
export type BrowserLoadModelOptions = Omit<LoadModelOptions, keyof z.input<typeof browserLoadOptionsSchema>> &
  z.input<typeof browserLoadOptionsSchema>;

/** Parsed browser-only options. */
export type BrowserLoadOptions = z.output<typeof browserLoadOptionsSchema>;

const BROWSER_KEYS = new Set(Object.keys(browserLoadOptionsSchema.shape));

/** Splits options into the browser-only part (parsed here) and the shared part (parsed by `loadModelWith`). */
export function splitBrowserLoadOptions(options: unknown): { browser: BrowserLoadOptions; common: LoadModelOptions } {
  if (options === undefined) return { browser: {}, common: {} };
  if (typeof options !== 'object' || options === null) return { browser: {}, common: options as LoadModelOptions };
  const browser: Record<string, unknown> = {};
  const common: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) (BROWSER_KEYS.has(key) ? browser : common)[key] = value;
  return { browser: parseOptions(browserLoadOptionsSchema, browser, 'loadModel'), common: common as LoadModelOptions };
}
