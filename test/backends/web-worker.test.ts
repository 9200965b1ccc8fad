/**
 * The Web Worker backend's protocol, over a real MessageChannel (structured clone and transfer, as between a
 * page and its worker), hosting the onnxruntime-node backend. The browser test runs it in a real Worker.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { createOnnxNodeBackend } from 'modelship/node';
import { createWorkerBackend, serveBackend, type WorkerLike } from '../../src/backends/web-worker/index.js';
import { addOneModel } from '../helpers/models.js';

const ports: MessagePort[] = [];
afterEach(() => {
  for (const p of ports.splice(0)) p.close();
});

/** A page-side endpoint plus the hook to fire a Worker's `error` event, and a served backend on the other side. */
function connect(): { worker: WorkerLike & { fail(message: string): void; terminated: boolean } } {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  serveBackend(createOnnxNodeBackend(), port2 as never);
  const errors = new EventTarget();
  const worker = {
    terminated: false,
    postMessage: (m: unknown, t?: Transferable[]) => port1.postMessage(m, t as never),
    addEventListener: (type: string, listener: (e: never) => void) =>
      type === 'error'
        ? errors.addEventListener(type, listener as never)
        : port1.addEventListener(type, listener as never),
    start: () => port1.start(),
    terminate() {
      this.terminated = true;
    },
    fail: (message: string) => errors.dispatchEvent(Object.assign(new Event('error'), { message })),
  };
  return { worker: worker as never };
}

describe('createWorkerBackend + serveBackend', () => {
  it('creates sessions and runs them in the other thread, with the same signature and outputs', async () => {
    const { worker } = connect();
    const remote = await createWorkerBackend(worker).createSession({ bytes: addOneModel() });
    const local = await createOnnxNodeBackend().createSession({ bytes: addOneModel() });
    expect(remote.signature).toEqual(local.signature);
    const input = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const out = await remote.run({ x: { dtype: 'float32', shape: [2, 4], data: input } });
    expect(out.y).toEqual({ dtype: 'float32', shape: [2, 4], data: new Float32Array([2, 3, 4, 5, 6, 7, 8, 9]) });
    expect(Array.from(input)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]); // the caller's buffer is copied, not taken
    await remote.release();
    await expect(
      remote.run({ x: { dtype: 'float32', shape: [1, 4], data: new Float32Array(4) } }),
    ).rejects.toMatchObject({
      code: 'INFERENCE_FAILED',
      message: expect.stringContaining('released'),
    });
    await local.release();
  });

  it('keeps error codes across the thread boundary', async () => {
    const { worker } = connect();
    const backend = createWorkerBackend(worker);
    await expect(backend.createSession({ bytes: new Uint8Array([1, 2, 3]) })).rejects.toMatchObject({
      code: 'MODEL_LOAD_FAILED',
    });
    const session = await backend.createSession({ bytes: addOneModel() });
    await expect(
      session.run({ x: { dtype: 'float32', shape: [1, 3], data: new Float32Array(3) } }),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
  });

  it('rejects with ABORTED when the signal aborts, and when the backend is closed', async () => {
    const { worker } = connect();
    const backend = createWorkerBackend(worker);
    const session = await backend.createSession({ bytes: addOneModel() });
    const feeds = { x: { dtype: 'float32' as const, shape: [1, 4], data: new Float32Array(4) } };
    await expect(session.run(feeds, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
    const controller = new AbortController();
    const running = session.run(feeds, { signal: controller.signal });
    controller.abort();
    await expect(running).rejects.toMatchObject({ code: 'ABORTED' });
    const pending = session.run(feeds);
    backend.close();
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    expect(worker.terminated).toBe(true);
    await expect(backend.createSession({ bytes: addOneModel() })).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('fails pending and later calls with MODEL_LOAD_FAILED when the worker itself fails', async () => {
    const { worker } = connect();
    const backend = createWorkerBackend(worker);
    const pending = backend.createSession({ bytes: addOneModel() });
    worker.fail('SyntaxError: unexpected token');
    await expect(pending).rejects.toMatchObject({
      code: 'MODEL_LOAD_FAILED',
      message: expect.stringContaining('SyntaxError'),
    });
    await expect(backend.createSession({ bytes: addOneModel() })).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED' });
  });
});
