import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Lowers the calling thread's scheduling priority by `increment` nice levels (capped at 19), and with it that
 * of the threads it starts afterwards (onnxruntime's thread pool inherits it). Linux only: there a thread has
 * its own nice value, addressed by its id; elsewhere `setPriority` would address a process, so nothing is done.
 * Best effort: returns the nice value set, or undefined when it was not applied.
 */
export function lowerThreadPriority(increment: number): number | undefined {
  if (!(increment > 0) || process.platform !== 'linux') return undefined;
  try {
    const tid = threadId();
    if (tid === undefined) return undefined;
    const nice = Math.min(19, getPriority(tid) + increment);
    setPriority(tid, nice);
    return nice;
  } catch {
    // No /proc (a locked-down sandbox): run at the inherited priority.
    return undefined;
  }
}

/** The calling thread's kernel id (Linux), or undefined. */
function threadId(): number | undefined {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  return Number.isSafeInteger(tid) && tid > 0 ? tid : undefined;
}

/**
 * Puts the calling thread in Linux's `SCHED_BATCH` policy, and with it the threads it starts afterwards
 * (onnxruntime's pool inherits it). A batch thread keeps its fair share of the CPU (as its nice level says), but
 * when it wakes up it never preempts the thread running on that core: it waits for that thread's slice to end
 * or for it to sleep. For a worker that is what the event loop needs. Woken by the event loop that handed it a
 * short run, a normal worker was put on the event loop's own core and preempted it for the whole run (measured
 * here: `Atomics.notify` returned after 210 µs instead of 15, a 0.2 ms run later), even one nice level lower.
 *
 * Node has no call for it, so util-linux's (or BusyBox's) `chrt` sets it, once per thread; changing one's own
 * thread to batch needs no privilege. Best effort: true when set; false when not Linux, or without `chrt`.
 */
export function batchScheduling(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const tid = threadId();
    if (tid === undefined) return false;
    execFileSync('chrt', ['-b', '-p', '0', String(tid)], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    // No /proc, no chrt (a distroless image), or a sandbox that forbids it: the default policy stays.
    return false;
  }
}
