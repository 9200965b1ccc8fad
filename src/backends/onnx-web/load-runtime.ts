import type * as Ort from 'onnxruntime-web';
import { ModelshipError } from '../../errors/index.js';

/** The onnxruntime-web module (both builds share onnxruntime-common's API). */
export type OrtWeb = typeof Ort;

/**
 * Which onnxruntime-web build to load: `wasm` (WebAssembly only, ~14 MB of .wasm) or `webgpu` (WebGPU plus
 * WebAssembly, ~27 MB). Apps that never ask for WebGPU never download the larger one.
 */
export type OrtWebBuild = 'wasm' | 'webgpu';

const builds = new Map<OrtWebBuild, Promise<OrtWeb>>();

const unwrap = (m: unknown): OrtWeb => ((m as { default?: OrtWeb }).default ?? m) as OrtWeb;

/**
 * Imports an onnxruntime-web build on first use, so importing modelship costs nothing until a model is
 * loaded. The specifiers are literal so bundlers (Vite, webpack, esbuild) see them, split them into their own
 * chunks and emit the .wasm file each build references with `new URL(…, import.meta.url)`.
 */
export function loadOnnxWeb(build: OrtWebBuild): Promise<OrtWeb> {
  let pending = builds.get(build);
  if (!pending) {
    const imported = build === 'webgpu' ? import('onnxruntime-web/webgpu') : import('onnxruntime-web/wasm');
    pending = imported.then(unwrap, (cause: unknown) => {
      builds.delete(build);
      throw new ModelshipError(
        'DEPENDENCY_MISSING',
        'onnxruntime-web is not installed. Run `npm install onnxruntime-web` (it is a peer dependency of modelship for browsers).',
        { cause },
      );
    });
    builds.set(build, pending);
  }
  return pending;
}
