import type { BackendSessionOptions, ModelSource } from '../../spec/backend.js';
import type { WorkerData } from './worker-protocol.js';
import { startWorker, stopWorker, type StartedWorker } from './worker-start.js';

/** The model as a pool's workers (and their replacements) open it: bytes in one shared copy, or a path. */
export function poolModel(source: ModelSource): WorkerData['model'] {
  if ('bytes' in source) {
    // One shared copy, however many workers (and replacements) read it.
    const bytes = new SharedArrayBuffer(source.bytes.byteLength);
    new Uint8Array(bytes).set(source.bytes);
    return { kind: 'bytes', bytes };
  }
  return { kind: 'path', path: source.path };
}

/**
 * Starts a pool's `count` first workers, all or none: if any cannot load the model, the others are stopped and
 * this rejects with that worker's reason.
 */
export async function startPoolWorkers(
  model: WorkerData['model'],
  options: BackendSessionOptions,
  count: number,
): Promise<StartedWorker[]> {
  const started = await Promise.allSettled(Array.from({ length: count }, () => startWorker(model, options)));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(
      started.map((r) =>
        r.status === 'fulfilled' ? stopWorker(r.value.worker, r.value.client, r.value.nice) : undefined,
      ),
    );
    throw failed.reason;
  }
  return started.map((r) => (r as PromiseFulfilledResult<StartedWorker>).value);
}
