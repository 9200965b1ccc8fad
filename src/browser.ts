/**
 * modelship for browsers and Web Workers: everything in the runtime-agnostic entry, plus `loadModel` on
 * onnxruntime-web with models cached in the Cache API, and a Web Worker backend. This is what the `browser`
 * condition of `modelship` resolves to; import `modelship/browser` where TypeScript does not see that
 * condition (`"moduleResolution": "bundler"`).
 * @packageDocumentation
 */
export * from './index.js';
export { loadModel } from './load-model.browser.js';
export { createDeployment } from './deployment.browser.js';
export type { BrowserLoadModelOptions } from './serving/browser-load-options.js';
export { createOnnxWebBackend, type OnnxWebBackendOptions, type OnnxWebLogger } from './backends/onnx-web/index.js';
export { createWorkerBackend, serveBackend, type WorkerBackend, type WorkerLike, type MessageEndpoint } from './backends/web-worker/index.js';
export { clearModelCache, DEFAULT_CACHE_NAME } from './platform/browser/model-cache.js';
export type { DownloadProgress, ProgressListener, FetchLike } from './platform/browser/download.js';
