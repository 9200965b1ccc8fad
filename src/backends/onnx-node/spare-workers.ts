import type { Worker } from 'node:worker_threads';
import type { ChannelMemory } from '../../platform/node/worker-channel/channel.js';

/**
 * Worker threads kept after their model was unloaded, for the next model this process loads.
 *
 * Starting a worker thread is most of what loading a small model costs: a new V8 isolate, Node's bootstrap,
 * modelship's and onnxruntime's modules. Measured here for the 1.6 MB MNIST MLP: 160 ms of CPU per worker,
 * against 9 ms to open the session itself. A process that swaps models (a repository evicting one to load
 * another, a hot swap, a canary) would spend that on every load, on the cores its other models serve from.
 * So a released pool hands its healthy threads here, and the next pool takes them and only opens its session.
 *
 * At most one spare per core is kept (a pool never starts more by default), only threads at the same nice
 * level and scheduling policy are handed on (a thread may lower its priority but, unprivileged, not raise it
 * again), and a spare nobody took within {@link SPARE_IDLE_MS} exits. Spares never keep the process alive.
 *
 * A spare keeps its channel's shared memory too, for its next model: new memory costs the event loop page
 * faults, about 0.3 ms per worker on a VM, paid by the models serving meanwhile.
 */

/** How long an unused spare thread lives. */
export const SPARE_IDLE_MS = 30_000;

interface Spare {
  readonly worker: Worker;
  /** Its nice level and scheduling policy (see `workerPriority`). */
  readonly priority: string;
  readonly timer: ReturnType<typeof setTimeout>;
  readonly onExit: () => void;
  /** Its last channel's memory, cleared for reuse (see `reuseChannelMemory`), if kept. */
  readonly memory: ChannelMemory | undefined;
}

/** A spare thread handed to a new pool, with the channel memory it kept, if any. */
export interface TakenSpare {
  readonly worker: Worker;
  readonly memory: ChannelMemory | undefined;
}

const spares: Spare[] = [];

/** Removes the spare at `i` from the list: its timer and exit listener go with it. */
function unlist(i: number): Spare {
  const [spare] = spares.splice(i, 1) as [Spare];
  clearTimeout(spare.timer);
  spare.worker.off('exit', spare.onExit);
  return spare;
}

/** A spare thread at `priority` (and its channel memory), removed from the spares, or undefined. */
export function takeSpare(priority: string): TakenSpare | undefined {
  const i = spares.findIndex((s) => s.priority === priority);
  if (i < 0) return undefined;
  const { worker, memory } = unlist(i);
  return { worker, memory };
}

/**
 * Keeps `worker` (its session released, waiting for its next model) as a spare; false when there are enough
 * already, and the caller stops it.
 */
export function keepSpare(worker: Worker, priority: string, max: number, memory?: ChannelMemory): boolean {
  if (spares.length >= max || worker.threadId === -1) return false;
  worker.unref();
  const drop = (): void => {
    const i = spares.findIndex((s) => s.worker === worker);
    if (i >= 0) unlist(i);
  };
  const timer = setTimeout(() => {
    drop();
    void worker.terminate();
  }, SPARE_IDLE_MS);
  timer.unref();
  worker.once('exit', drop);
  spares.push({ worker, priority, timer, onExit: drop, memory });
  return true;
}

/** Spare threads now (tests). */
export function spareCount(): number {
  return spares.length;
}

/** Spare threads that kept their channel's memory (tests). */
export function sparesWithMemory(): number {
  return spares.filter((s) => s.memory !== undefined).length;
}

/** Stops every spare thread (tests; a process exiting needs nothing of this). */
export async function stopSpares(): Promise<void> {
  const all: Worker[] = [];
  while (spares.length > 0) all.push(unlist(0).worker);
  await Promise.all(all.map((worker) => worker.terminate()));
}
