import { toModelshipError } from '../../errors/index.js';
import type { BackendSession, InferenceBackend } from '../../spec/backend.js';
import type { TensorLike } from '../../spec/tensor.js';
import { CHANNEL, type MessageEndpoint, type WorkerRequest, type WorkerResponse } from './protocol.js';

/** Output buffers are handed over, not copied; each buffer once, even when two outputs share it. */
function transferables(outputs: Record<string, TensorLike>): Transferable[] {
  const buffers = new Set<ArrayBuffer>();
  for (const t of Object.values(outputs)) {
    if (!Array.isArray(t.data) && t.data.buffer instanceof ArrayBuffer) buffers.add(t.data.buffer);
  }
  return [...buffers];
}

/**
 * Serves an inference backend to the main thread from inside a Web Worker; the other end is
 * `createWorkerBackend(worker)`. Sessions live in the worker, so inference never blocks the page. Returns a
 * function that stops serving.
 *
 * @example
 * ```ts
 * // inference.worker.ts
 * import { createOnnxWebBackend, serveBackend } from 'modelship/browser';
 * serveBackend(createOnnxWebBackend());
 * ```
 */
export function serveBackend(
  backend: InferenceBackend,
  endpoint: MessageEndpoint = globalThis as unknown as MessageEndpoint,
): () => void {
  const sessions = new Map<number, BackendSession>();
  let nextSession = 1;

  const handle = async (request: WorkerRequest): Promise<{ response: WorkerResponse; transfer: Transferable[] }> => {
    const { id } = request;
    try {
      if (request.op === 'create') {
        const session = await backend.createSession({ bytes: request.bytes }, request.options);
        const handle = nextSession++;
        sessions.set(handle, session);
        return { response: { id, ok: true, session: handle, signature: session.signature }, transfer: [] };
      }
      const session = sessions.get(request.session);
      if (!session) throw new Error(`No session ${request.session} in the worker; it was released or never created.`);
      if (request.op === 'run') {
        const outputs = await session.run(request.feeds, request.outputs ? { outputs: request.outputs } : {});
        return { response: { id, ok: true, outputs }, transfer: transferables(outputs) };
      }
      sessions.delete(request.session);
      await session.release();
      return { response: { id, ok: true }, transfer: [] };
    } catch (error) {
      const e = toModelshipError(error, request.op === 'create' ? 'MODEL_LOAD_FAILED' : 'INFERENCE_FAILED');
      const wire =
        e.details === undefined
          ? { code: e.code, message: e.message }
          : { code: e.code, message: e.message, details: e.details };
      return { response: { id, ok: false, error: wire }, transfer: [] };
    }
  };

  const listener = (event: MessageEvent): void => {
    const data = event.data as { channel?: string; request?: WorkerRequest } | null;
    if (data?.channel !== CHANNEL || !data.request) return;
    void handle(data.request).then(({ response, transfer }) =>
      endpoint.postMessage({ channel: CHANNEL, response }, transfer),
    );
  };
  endpoint.addEventListener('message', listener);
  (endpoint as { start?: () => void }).start?.(); // a MessagePort delivers nothing until started
  return () => endpoint.removeEventListener?.('message', listener);
}
