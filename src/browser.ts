/**
 * modelship for browsers and Web Workers: everything in the runtime-agnostic entry, plus the browser runtime
 * (`loadModel` on onnxruntime-web with models cached in the Cache API, `createDeployment`) and the browser
 * backends. This is what the `browser` condition of `modelship` resolves to; import `modelship/browser` where
 * TypeScript does not see that condition (`"moduleResolution": "bundler"`).
 * @packageDocumentation
 */
export * from './index.js';
export * from './runtime/browser.js';
export { createOnnxWebBackend, type OnnxWebBackendOptions, type OnnxWebLogger } from './backends/onnx-web/index.js';
export {
  createWorkerBackend,
  serveBackend,
  type WorkerBackend,
  type WorkerLike,
  type MessageEndpoint,
} from './backends/web-worker/index.js';
// These shadow the registry contract's DownloadProgress from './index.js': the browser download's own types.
export type { DownloadProgress, ProgressListener, FetchLike } from './platform/browser/download.js';
