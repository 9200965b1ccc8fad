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

/** Throws the reason of the first step that failed, if any. */
export function throwFirstFailure(settled: readonly PromiseSettledResult<unknown>[]): void {
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Runs `steps` together, or one after another when `oneAtATime`; settles like `Promise.allSettled`. */
export async function inTurnsOrTogether<T>(
  steps: readonly (() => Promise<T>)[],
  oneAtATime: boolean,
): Promise<PromiseSettledResult<T>[]> {
  if (!oneAtATime) return Promise.allSettled(steps.map((step) => step()));
  const settled: PromiseSettledResult<T>[] = [];
  for (const step of steps) {
    try {
      settled.push({ status: 'fulfilled', value: await step() });
    } catch (reason) {
      settled.push({ status: 'rejected', reason });
    }
  }
  return settled;
}

/**
 * Starts a pool's `count` first workers, all or none: if any cannot load the model, the others are stopped and
 * this rejects with that worker's reason. `oneAtATime` opens the sessions one after another (beside other
 * models serving: see worker-pool.ts); the first failure then stops the rest from being started.
 */
export async function startPoolWorkers(
  model: WorkerData['model'],
  options: BackendSessionOptions,
  count: number,
  oneAtATime = false,
): Promise<StartedWorker[]> {
  let failedOnce = false;
  const started = await inTurnsOrTogether(
    Array.from({ length: count }, () => async () => {
      if (failedOnce) throw new Error('not started: another worker failed');
      return startWorker(model, options).catch((error: unknown) => {
        failedOnce = true;
        throw error;
      });
    }),
    oneAtATime,
  );
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(
      started.map((r) =>
        r.status === 'fulfilled' ? stopWorker(r.value.worker, r.value.client, r.value.priority) : undefined,
      ),
    );
    throw failed.reason;
  }
  return started.map((r) => (r as PromiseFulfilledResult<StartedWorker>).value);
}
