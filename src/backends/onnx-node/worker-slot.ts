import type { Worker } from 'node:worker_threads';
import type { ChannelClient } from '../../platform/node/worker-channel/channel.js';
import { CrashLoop, type RespawnPolicy } from './crash-loop.js';

/** One place in a worker pool: the worker filling it now (if any), its state, and its run of crashes. */
export interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  client: ChannelClient | undefined;
  /** `waiting`: its worker died and the next one starts after a backoff delay. */
  state: 'starting' | 'idle' | 'busy' | 'waiting' | 'stopped';
  /** Runs sent to its worker and not yet answered: one running, perhaps one queued behind it. */
  inFlight: number;
  /** Its worker's priority (see `workerPriority`), and the pool's listener for that worker's exit (removed when it is handed on). */
  priority: string;
  onExit: ((code: number) => void) | undefined;
  readonly crashes: CrashLoop;
}

/** A `run` queued until a slot frees up (or the pool fails it: released, or crashing). */
export interface Waiter {
  resolve: (slot: Slot) => void;
  reject: (error: unknown) => void;
}

/** Slot `index` of a new pool, its first worker still starting. */
export function newSlot(index: number, policy: RespawnPolicy): Slot {
  return {
    index,
    worker: undefined,
    client: undefined,
    state: 'starting',
    inFlight: 0,
    priority: '',
    onExit: undefined,
    crashes: new CrashLoop(policy),
  };
}
