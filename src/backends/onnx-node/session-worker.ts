/**
 * Entry point of a pool worker thread: loads one onnxruntime session and serves runs over a shared-memory
 * channel until told to stop, then waits for the next model (spare-workers.ts) until it is terminated.
 * Started by `worker-pool.ts`; not part of the public API.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ModelshipError, toModelshipError } from '../../errors/index.js';
import { serveChannel, type ChannelMessage } from '../../platform/node/worker-channel/channel.js';
import { batchScheduling, lowerThreadPriority } from '../../platform/node/thread-priority.js';
import type { BackendSessionOptions } from '../../spec/backend.js';
import type { TensorLike } from '../../spec/tensor.js';
import { sessionOnThisThread } from './this-thread-session.js';
import { loadOnnxRuntime } from './load-runtime.js';
import { OP_RUN, type WorkerCommand, type WorkerData, type WorkerLease, type WorkerStatus } from './worker-protocol.js';

const data = workerData as WorkerData;

/**
 * onnxruntime-node defers every `run()` with `setImmediate`, which costs a full event-loop turn (≈10 µs here,
 * as much as a small model's whole inference). This thread exists only to run the session, blocking in
 * `Atomics.wait` between calls, so nothing else here needs the immediate queue: run those callbacks as
 * microtasks instead. Node's own internals do not use the global.
 */
globalThis.setImmediate = ((fn: (...args: unknown[]) => void, ...args: unknown[]) => {
  queueMicrotask(() => fn(...args));
}) as unknown as typeof setImmediate;

function post(status: WorkerStatus): void {
  parentPort?.postMessage(status);
}

function encodeError(error: unknown): { code: string; message: string; details?: Record<string, unknown> } {
  const e = toModelshipError(error, 'INFERENCE_FAILED');
  return e.details === undefined
    ? { code: e.code, message: e.message }
    : { code: e.code, message: e.message, details: e.details };
}

/** Opens the lease's model and serves it until `OP_STOP`; reports a failed load (and returns false). */
async function serve(lease: WorkerLease): Promise<boolean> {
  let session;
  try {
    // onnxruntime wants an ordinary ArrayBuffer for the model, so the shared copy is copied once per worker.
    const source =
      lease.model.kind === 'bytes' ? { bytes: new Uint8Array(lease.model.bytes).slice() } : { path: lease.model.path };
    const options: BackendSessionOptions = { ...lease.options, workers: 0 };
    session = await sessionOnThisThread(await loadOnnxRuntime(), source, options);
  } catch (error) {
    post({ type: 'failed', error: encodeError(error) });
    lease.channel.port.close();
    return false;
  }
  const inputNames = session.signature.inputs.map((s) => s.name);
  const outputNames = session.signature.outputs.map((s) => s.name);
  post({ type: 'ready', signature: session.signature });
  await serveChannel(
    lease.channel,
    async (op: number, request: ChannelMessage): Promise<ChannelMessage> => {
      if (op !== OP_RUN) throw new ModelshipError('INTERNAL', `Unknown worker op ${op}.`);
      const feeds: Record<string, TensorLike> = {};
      for (const { slot, tensor } of request.tensors) feeds[inputNames[slot] as string] = tensor;
      const fetch = request.extra.map((i) => outputNames[i] as string);
      const out = await session.run(feeds, { outputs: fetch });
      return {
        tensors: fetch.map((name, i) => ({ slot: request.extra[i] as number, tensor: out[name] as TensorLike })),
        extra: [],
      };
    },
    encodeError,
    lease.spinMs,
    // Released before the stop is answered: a thread kept as a spare is then idle, safe to end at any time.
    () => session.release(),
  );
  lease.channel.port.close();
  return true;
}

/** The next model, once the pool that released this thread's session hands it on (spare-workers.ts). */
function nextLease(): Promise<WorkerLease> {
  return new Promise((resolve) => {
    parentPort?.once('message', (command: WorkerCommand) => resolve(command.lease));
  });
}

async function main(): Promise<void> {
  if (data.exitOnStartForTesting) process.exit(70);
  // Before any session exists, so that onnxruntime's own threads inherit the priority (the pool resolved the
  // default). Spares are only handed to pools that want the same level.
  lowerThreadPriority(data.options.workerNice ?? 0);
  if (data.options.workerScheduling === 'batch') batchScheduling();
  let lease: WorkerLease = data;
  // A failed load ends the thread: the pool terminates it.
  while (await serve(lease)) lease = await nextLease();
}

main().catch((error: unknown) => {
  post({ type: 'failed', error: encodeError(error) });
  data.channel.port.close();
});
