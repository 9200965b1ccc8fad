import type * as Ort from 'onnxruntime-node';
import { ModelshipError } from '../../errors/index.js';

type OrtModule = typeof Ort;

let runtime: Promise<OrtModule> | undefined;

/**
 * Imports onnxruntime-node on first use, so importing modelship costs nothing until a model is loaded and
 * apps that only use the HTTP layer or the browser build never load the native binding.
 */
export function loadOnnxRuntime(): Promise<OrtModule> {
  runtime ??= import('onnxruntime-node').then(
    (m) => ((m as unknown as { default?: OrtModule }).default ?? m) as OrtModule,
    (cause: unknown) => {
      runtime = undefined;
      throw new ModelshipError(
        'DEPENDENCY_MISSING',
        'onnxruntime-node is not installed. Run `npm install onnxruntime-node` (it is a peer dependency of modelship). ' +
          'Offline or behind a firewall, run `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node`: its install ' +
          'script otherwise downloads optional CUDA files and fails, and the CPU build ships inside the package.',
        { cause },
      );
    },
  );
  return runtime;
}
