import type { Worker } from 'node:worker_threads';

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
 */

/** How long an unused spare thread lives. */
export const SPARE_IDLE_MS = 30_000;

interface Spare {
  readonly worker: Worker;
  /** Its nice level and scheduling policy (see `workerPriority`). */
  readonly priority: string;
  readonly timer: ReturnType<typeof setTimeout>;
  readonly onExit: () => void;
}

const spares: Spare[] = [];

/** Removes the spare at `i` from the list: its timer and exit listener go with it. */
function unlist(i: number): Worker {
  const [spare] = spares.splice(i, 1) as [Spare];
  clearTimeout(spare.timer);
  spare.worker.off('exit', spare.onExit);
  return spare.worker;
}

/** A spare thread at `priority`, removed from the spares, or undefined. */
export function takeSpare(priority: string): Worker | undefined {
  const i = spares.findIndex((s) => s.priority === priority);
  return i < 0 ? undefined : unlist(i);
}

/**
 * Keeps `worker` (its session released, waiting for its next model) as a spare; false when there are enough
 * already, and the caller stops it.
 */
export function keepSpare(worker: Worker, priority: string, max: number): boolean {
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
  spares.push({ worker, priority, timer, onExit: drop });
  return true;
}

/** Spare threads now (tests). */
export function spareCount(): number {
  return spares.length;
}

/** Stops every spare thread (tests; a process exiting needs nothing of this). */
export async function stopSpares(): Promise<void> {
  const all: Worker[] = [];
  while (spares.length > 0) all.push(unlist(0));
  await Promise.all(all.map((worker) => worker.terminate()));
}
