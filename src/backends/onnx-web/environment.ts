import type { OnnxWebLogger } from './onnx-web-options.js';
import type { OrtWeb } from './load-runtime.js';

interface GpuLike {
  requestAdapter(): Promise<unknown>;
}

// onnxruntime-web's env is global per build and read when its first session is created, and the advice below
// concerns the page, not a model: both happen once per page.
const configured = new WeakSet<object>();
let isolationWarned = false;

/**
 * Applies the thread count and file location to a build's `env` before its first session. Multithreaded WASM
 * needs SharedArrayBuffer, which browsers only give cross-origin isolated pages; elsewhere onnxruntime-web
 * runs single-threaded, and one warning says how to change that.
 */
export function configureEnvironment(
  ort: OrtWeb,
  options: { wasmPaths?: string | Record<string, string>; numThreads?: number },
  logger: OnnxWebLogger,
): void {
  if (configured.has(ort.env)) return;
  configured.add(ort.env);
  if (options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = options.wasmPaths;
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  if (options.numThreads !== undefined) {
    ort.env.wasm.numThreads = isolated ? options.numThreads : 1;
  } else if (!isolated) {
    ort.env.wasm.numThreads = 1;
  }
  const cores = (globalThis.navigator as { hardwareConcurrency?: number } | undefined)?.hardwareConcurrency ?? 1;
  if (!isolated && options.numThreads !== 1 && cores > 1 && !isolationWarned) {
    isolationWarned = true;
    logger.warn(
      'onnxruntime-web runs single-threaded because this page is not cross-origin isolated (crossOriginIsolated is false). ' +
        'To use multithreaded WebAssembly, serve the page with the headers "Cross-Origin-Opener-Policy: same-origin" and ' +
        '"Cross-Origin-Embedder-Policy: require-corp". Pass numThreads: 1 to createOnnxWebBackend to silence this warning.',
    );
  }
}

let gpuCheck: Promise<boolean> | undefined;

/**
 * Whether WebGPU can be used here: the API exists and yields an adapter (it does not on most headless or
 * GPU-less machines). Asked once per page.
 */
export function webGpuAvailable(): Promise<boolean> {
  gpuCheck ??= (async () => {
    const gpu = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
    if (!gpu) return false;
    try {
      return (await gpu.requestAdapter()) != null;
    } catch {
      return false;
    }
  })();
  return gpuCheck;
}
