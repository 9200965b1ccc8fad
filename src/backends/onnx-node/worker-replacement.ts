import { ModelshipError } from '../../errors/index.js';
import { ChannelClosedError } from '../../platform/node/worker-channel/channel.js';
import type { BackendEvent } from '../../spec/backend.js';
import type { TensorLike } from '../../spec/tensor.js';
import type { RespawnStep } from './crash-loop.js';
import { OP_RUN } from './worker-protocol.js';
import type { StartedWorker } from './worker-start.js';

/**
 * The event for a pool worker that died (`exitCode`) or whose replacement failed to start, with the backoff
 * `step` it led to: from the second failure in a row it says when the next start is, and whether requests
 * now fail fast (`failingFast`).
 */
export function crashEvent(
  worker: number,
  step: RespawnStep,
  failingFast: boolean,
  message: string,
  exitCode: number | undefined,
): BackendEvent {
  const fast = failingFast ? ', and requests fail fast with WORKER_CRASHED until a worker is up' : '';
  const note =
    step.failures === 1
      ? ''
      : ` ${step.failures} failures in a row: the next start is in ${step.delayMs} ms${fast}${step.capped ? ' (not logged again while this repeats)' : ''}.`;
  return exitCode === undefined
    ? { type: 'worker-start-failed', worker, message: `${message}${note}`, retryInMs: step.delayMs }
    : { type: 'worker-crashed', worker, exitCode, message: `${message}${note}` };
}

/** What a request gets while no worker is up and every one keeps crashing. */
export function crashLoopError(): ModelshipError {
  return new ModelshipError(
    'WORKER_CRASHED',
    "This model's workers keep crashing; replacements are retried in the background with a growing delay. Retry later, or check the model (a custom op that fails?).",
  );
}

/**
 * Runs the pool's warm-up `feeds` on replacement worker `index` before it takes requests. It is not attached
 * to the pool yet, so it watches the worker itself: a worker dying during its warm-up must fail the warm-up,
 * not leave it waiting forever.
 */
export async function warmUpReplacement(
  s: StartedWorker,
  index: number,
  feeds: ReadonlyArray<Readonly<Record<string, TensorLike>>>,
  inputIndex: ReadonlyMap<string, number>,
  allOutputs: readonly number[],
): Promise<void> {
  const onExit = (code: number): void =>
    s.client.close(new ChannelClosedError(`Worker ${index} exited with code ${code} while warming up.`));
  s.worker.once('exit', onExit);
  try {
    for (const f of feeds) {
      await s.client.call(OP_RUN, {
        tensors: Object.entries(f).map(([name, tensor]) => ({ slot: inputIndex.get(name) as number, tensor })),
        extra: allOutputs,
      });
    }
  } finally {
    s.worker.off('exit', onExit);
  }
}
