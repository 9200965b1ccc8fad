import type { CallerWait } from '../../platform/node/worker-channel/channel.js';

/**
 * Polling for a lone run on an otherwise idle event loop: the worker polls for the next call after answering,
 * and the caller polls for answers due within 40 µs, with room for jitter (3× the usual round trip, at most
 * 0.1 ms); longer runs wait on the event loop. Why: docs/performance.md, "Polling only where it pays".
 */
export function callerWait(roundTripMs: number): CallerWait {
  return { ms: roundTripMs < 0.04 ? Math.min(0.1, 3 * roundTripMs) : 0, workerPolls: true };
}
