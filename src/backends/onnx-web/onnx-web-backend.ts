import type { InferenceSession } from 'onnxruntime-web';
import { ModelshipError } from '../../errors/index.js';
import type {
  BackendSession,
  BackendSessionOptions,
  InferenceBackend,
  ModelSource,
  RunOptions,
} from '../../spec/backend.js';
import type { TensorLike } from '../../spec/tensor.js';
import { baseSessionOptions, createOrtSession, OrtBackendSession } from '../onnx-common/ort-session.js';
import { configureEnvironment, webGpuAvailable } from './environment.js';
import { loadOnnxWeb, type OrtWebBuild } from './load-runtime.js';
import { defaultLogger } from '../../core/logger.js';
import { parseOnnxWebBackendOptions, type OnnxWebBackendOptions, type OnnxWebLogger } from './onnx-web-options.js';
import { RunQueue } from './run-queue.js';

const SUPPORTED_PROVIDERS = ['wasm', 'cpu', 'webgpu'];

/** Calls on one session wait for each other: onnxruntime-web runs one call per session at a time. */
class QueuedSession implements BackendSession {
  readonly signature;
  readonly #inner: BackendSession;
  readonly #queue = new RunQueue();

  constructor(inner: BackendSession) {
    this.#inner = inner;
    this.signature = inner.signature;
  }

  run(feeds: Readonly<Record<string, TensorLike>>, options: RunOptions = {}): Promise<Record<string, TensorLike>> {
    return this.#queue.run(() => this.#inner.run(feeds, options), options.signal);
  }

  release(): Promise<void> {
    return this.#queue.run(() => this.#inner.release());
  }
}

interface Plan {
  build: OrtWebBuild;
  providers: string[];
}

/** WebGPU first when it is asked for and there is an adapter; WebAssembly otherwise (and as WebGPU's fallback). */
async function plan(requested: readonly string[] | undefined, logger: OnnxWebLogger): Promise<Plan> {
  const providers = [...(requested ?? ['wasm'])];
  const unknown = providers.filter((p) => !SUPPORTED_PROVIDERS.includes(p));
  if (unknown.length > 0) {
    throw new ModelshipError(
      'INVALID_OPTIONS',
      `Unsupported execution provider ${unknown.map((p) => `"${p}"`).join(', ')} for onnxruntime-web; use ${SUPPORTED_PROVIDERS.map((p) => `"${p}"`).join(', ')}.`,
      { details: { unknown, supported: SUPPORTED_PROVIDERS } },
    );
  }
  if (!providers.includes('webgpu')) return { build: 'wasm', providers };
  if (await webGpuAvailable()) {
    return { build: 'webgpu', providers: providers.includes('wasm') ? providers : [...providers, 'wasm'] };
  }
  logger.debug('WebGPU was requested but this browser offers no WebGPU adapter; running on WebAssembly.');
  return { build: 'wasm', providers: ['wasm'] };
}

async function open(
  build: OrtWebBuild,
  providers: string[],
  model: Uint8Array,
  options: BackendSessionOptions,
  config: ReturnType<typeof parseOnnxWebBackendOptions>,
  logger: OnnxWebLogger,
): Promise<BackendSession> {
  const ort = await loadOnnxWeb(build);
  configureEnvironment(ort, config, logger);
  const sessionOptions: InferenceSession.SessionOptions = {
    ...baseSessionOptions(options),
    executionProviders: providers as InferenceSession.ExecutionProviderConfig[],
  };
  const session = await createOrtSession(
    ort,
    model,
    sessionOptions,
    `onnxruntime-web ${ort.env.versions.web ?? ''}`.trim(),
  );
  return OrtBackendSession.create(ort, session);
}

/**
 * The onnxruntime-web backend for browsers and Web Workers. onnxruntime-web is imported on the first session
 * (its WebAssembly build, or its WebGPU build when `executionProviders` asks for `webgpu` and the browser has
 * an adapter); calls on a session are queued; threads are used only on cross-origin isolated pages.
 *
 * @example
 * ```ts
 * const backend = createOnnxWebBackend({ wasmPaths: '/ort/' });
 * const model = await loadModel('/models/mnist.onnx', { backend, session: { executionProviders: ['webgpu', 'wasm'] } });
 * ```
 */
export function createOnnxWebBackend(options: OnnxWebBackendOptions = {}): InferenceBackend {
  const config = parseOnnxWebBackendOptions(options);
  // The default for direct users; loadModel passes its own logger.
  const logger: OnnxWebLogger = config.logger ?? defaultLogger;
  return {
    specificationVersion: 'v1',
    name: 'onnxruntime-web',
    async createSession(source: ModelSource, sessionOptions: BackendSessionOptions = {}): Promise<BackendSession> {
      if (!('bytes' in source)) {
        throw new ModelshipError(
          'INVALID_ARGUMENT',
          'onnxruntime-web loads models from bytes; fetch the file first (loadModel does).',
        );
      }
      const { build, providers } = await plan(sessionOptions.executionProviders, logger);
      try {
        return new QueuedSession(await open(build, providers, source.bytes, sessionOptions, config, logger));
      } catch (error) {
        if (build !== 'webgpu') throw error;
        // An adapter can exist and still fail to start (driver, limits); the model still runs on WebAssembly.
        logger.warn(`WebGPU could not run this model (${(error as Error).message}); running on WebAssembly instead.`);
        return new QueuedSession(await open('wasm', ['wasm'], source.bytes, sessionOptions, config, logger));
      }
    },
  };
}
