import { ModelshipError, toModelshipError } from '../../errors/index.js';
import type {
  BackendSession,
  BackendSessionOptions,
  InferenceBackend,
  ModelSource,
  RunOptions,
} from '../../spec/backend.js';
import type { ModelSignature, TensorLike } from '../../spec/tensor.js';
import { CHANNEL, type MessageEndpoint, type WorkerRequest, type WorkerResponse } from './protocol.js';

type Body = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;
type Ok = Extract<WorkerResponse, { ok: true }>;

/** A `Worker`, or anything that talks like one (a MessagePort); `terminate` is used by `close()` when present. */
export interface WorkerLike extends MessageEndpoint {
  /** Answers from the worker. */
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  /** The worker failed to start or threw: every pending call fails. */
  addEventListener(type: 'error', listener: (event: ErrorEvent) => void): void;
  /** Stops the worker (a `Worker`'s own); called by `close()` when present. */
  terminate?(): void;
  /** Starts delivering messages (a `MessagePort`'s own); called once when present. */
  start?(): void;
}

/** The backend `createWorkerBackend` returns: an InferenceBackend that can also shut its worker down. */
export interface WorkerBackend extends InferenceBackend {
  /** Terminates the worker (when it is a `Worker`); pending calls reject with ABORTED. */
  close(): void;
}

/**
 * An inference backend whose sessions run in a Web Worker that calls `serveBackend(…)`, so inference stays
 * off the page's main thread. Inputs are validated on the calling side, copied to the worker, and outputs
 * are transferred back without a copy. Errors keep their modelship code.
 *
 * @example
 * ```ts
 * const worker = new Worker(new URL('./inference.worker.ts', import.meta.url), { type: 'module' });
 * const model = await loadModel('/mnist.onnx', { backend: createWorkerBackend(worker) });
 * ```
 */
export function createWorkerBackend(worker: WorkerLike, options: { name?: string } = {}): WorkerBackend {
  const pending = new Map<number, { resolve: (r: Ok) => void; reject: (e: unknown) => void }>();
  let nextId = 1;
  let failure: ModelshipError | undefined;

  const failAll = (error: ModelshipError): void => {
    failure = error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };

  worker.addEventListener('message', (event: MessageEvent) => {
    const data = event.data as { channel?: string; response?: WorkerResponse } | null;
    if (data?.channel !== CHANNEL || !data.response) return;
    const { response } = data;
    const waiter = pending.get(response.id);
    if (!waiter) return;
    pending.delete(response.id);
    if (response.ok) waiter.resolve(response);
    else
      waiter.reject(
        new ModelshipError(
          response.error.code,
          response.error.message,
          response.error.details ? { details: response.error.details } : {},
        ),
      );
  });
  worker.addEventListener('error', (event: ErrorEvent) => {
    event.preventDefault?.();
    failAll(
      new ModelshipError(
        'MODEL_LOAD_FAILED',
        `The inference worker failed: ${event.message || 'its script could not be loaded'}. Check that the worker file calls serveBackend() and that it is served as a module worker.`,
      ),
    );
  });
  worker.start?.();

  const call = (body: Body, signal?: AbortSignal): Promise<Ok> => {
    if (failure) return Promise.reject(failure);
    if (signal?.aborted) return Promise.reject(toModelshipError(signal.reason));
    const id = nextId++;
    return new Promise<Ok>((resolve, reject) => {
      const onAbort = (): void => {
        // The worker still finishes the call (it cannot be interrupted); its answer is then ignored.
        pending.delete(id);
        reject(toModelshipError(signal?.reason));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => signal?.removeEventListener('abort', onAbort);
      pending.set(id, {
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
      });
      worker.postMessage({ channel: CHANNEL, request: { ...body, id } });
    });
  };

  class WorkerSession implements BackendSession {
    constructor(
      readonly handle: number,
      readonly signature: ModelSignature,
    ) {}

    async run(
      feeds: Readonly<Record<string, TensorLike>>,
      runOptions: RunOptions = {},
    ): Promise<Record<string, TensorLike>> {
      const request: Body = {
        op: 'run',
        session: this.handle,
        feeds: { ...feeds },
        ...(runOptions.outputs ? { outputs: runOptions.outputs } : {}),
      };
      const { outputs } = await call(request, runOptions.signal);
      return outputs ?? {};
    }

    async release(): Promise<void> {
      if (failure) return;
      await call({ op: 'release', session: this.handle });
    }
  }

  return {
    specificationVersion: 'v1',
    name: options.name ?? 'web-worker',
    async createSession(source: ModelSource, sessionOptions: BackendSessionOptions = {}): Promise<BackendSession> {
      if (!('bytes' in source))
        throw new ModelshipError(
          'INVALID_ARGUMENT',
          'A worker backend loads models from bytes; fetch the file first (loadModel does).',
        );
      // Callbacks stay on this side: they cannot be cloned into the worker.
      const { onEvent: _onEvent, ...options } = sessionOptions;
      const { session, signature } = await call({ op: 'create', bytes: source.bytes, options });
      if (session === undefined || signature === undefined)
        throw new ModelshipError('INTERNAL', 'The inference worker answered without a session.');
      return new WorkerSession(session, signature);
    },
    close(): void {
      failAll(new ModelshipError('ABORTED', 'The inference worker was closed.'));
      worker.terminate?.();
    },
  };
}
