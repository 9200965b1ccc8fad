import type { CallerWait } from '../../platform/node/worker-channel/channel.js';

/**
 * Polling for a lone run on an otherwise idle event loop (the loop has nothing else to do meanwhile):
 * - the worker polls for the next call after answering, so it does not fall into a futex sleep from which it
 *   would start late and run cold (+10 µs per inference measured here);
 * - the caller polls for answers due within 40 µs (a small model), with room for jitter (3× the usual round
 *   trip, at most 0.1 ms): an event-loop wake-up would cost as much as the inference. For longer runs it
 *   waits on the event loop: the wake-up is then a small share, and on a 2-core machine a polling caller
 *   measurably slowed the worker's own run.
 */
export function callerWait(roundTripMs: number): CallerWait {
  return { ms: roundTripMs < 0.04 ? Math.min(0.1, 3 * roundTripMs) : 0, workerPolls: true };
}
