import { performance } from 'node:perf_hooks';

/**
 * Whether this thread's event loop has time to spare, from `performance.eventLoopUtilization()` over the
 * last few milliseconds, not counting the time spent polling for workers' answers (that is our own choice,
 * not load). Polling only pays when nothing else is waiting for the loop: a lone caller awaiting a short
 * inference. Under HTTP load the loop is busy with sockets and polling would delay them, so it stops.
 */
const WINDOW_MS = 5;
const BUSY_FRACTION = 0.5;

let last = performance.eventLoopUtilization();
let lastAt = performance.now();
let spunMs = 0;
let light = true;

/** Records time spent polling, so it does not count as load. */
export function recordSpin(ms: number): void {
  spunMs += ms;
}

/** True when the event loop was mostly idle (polling aside) over the last window. */
export function lightlyLoaded(): boolean {
  const now = performance.now();
  const elapsed = now - lastAt;
  if (elapsed < WINDOW_MS) return light;
  const current = performance.eventLoopUtilization();
  const delta = performance.eventLoopUtilization(current, last);
  const busy = Math.max(0, delta.active - spunMs) / elapsed;
  light = busy < BUSY_FRACTION;
  last = current;
  lastAt = now;
  spunMs = 0;
  return light;
}
