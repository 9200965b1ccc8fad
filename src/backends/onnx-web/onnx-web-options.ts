import { z } from 'zod';
import { parseOptions } from '../../core/options.js';

/** Where onnxruntime-web reports what it decided (single-threaded, WebGPU fallback). Console-compatible. */
export interface OnnxWebLogger {
  /** Decisions nobody needs to act on (no WebGPU adapter, so WebAssembly). */
  debug(message: string): void;
  /** Something worth fixing (single-threaded because the page is not cross-origin isolated). */
  warn(message: string): void;
}

const isLogger = (v: unknown): v is OnnxWebLogger =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as OnnxWebLogger).warn === 'function' &&
  typeof (v as OnnxWebLogger).debug === 'function';

/**
 * Options for `createOnnxWebBackend`. Parsed once; invalid options fail with `INVALID_OPTIONS`. `wasmPaths` and
 * `numThreads` set onnxruntime-web's page-wide `env`: the first backend to create a session decides them.
 */
export const onnxWebBackendOptionsSchema = z.strictObject({
  /**
   * Where onnxruntime-web's `.wasm` and `.mjs` files are served from (its `env.wasm.wasmPaths`), e.g. `'/ort/'`
   * or a CDN URL. Not needed with Vite or webpack, which emit them next to the bundle.
   */
  wasmPaths: z.union([z.string().min(1), z.record(z.string(), z.string())]).optional(),
  /**
   * WebAssembly threads. Defaults to onnxruntime-web's choice (up to 4) when the page is cross-origin isolated,
   * and to 1 otherwise, since browsers only share memory between threads on isolated pages.
   */
  numThreads: z.number().int().positive().optional(),
  logger: z.custom<OnnxWebLogger>(isLogger, 'logger must have debug and warn methods').optional(),
});

/** Options for `createOnnxWebBackend`. */
export type OnnxWebBackendOptions = z.input<typeof onnxWebBackendOptionsSchema>;

/** Parses backend options, turning zod's report into an INVALID_OPTIONS error. */
export function parseOnnxWebBackendOptions(options: unknown): z.output<typeof onnxWebBackendOptionsSchema> {
  return parseOptions(onnxWebBackendOptionsSchema, options ?? {}, 'createOnnxWebBackend');
}
