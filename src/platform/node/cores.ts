import { availableParallelism } from 'node:os';

/** How long a count is reused: a process's CPU affinity or cgroup quota rarely changes while it runs. */
const REFRESH_MS = 5000;
let cached = 0;
let until = 0;

/**
 * The cores this process may use (`os.availableParallelism()`), re-read at most every 5 s. libuv reads the
 * affinity mask and the cgroup quota on each call, several calls per model load; loads happen beside models
 * already serving, whose event loop should not pay for the same answer again and again.
 */
export function usableCores(): number {
  const now = performance.now();
  if (now >= until) {
    cached = availableParallelism();
    until = now + REFRESH_MS;
  }
  return cached;
}
