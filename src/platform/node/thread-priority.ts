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
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isSafeInteger(tid) || tid <= 0) return undefined;
    const nice = Math.min(19, getPriority(tid) + increment);
    setPriority(tid, nice);
    return nice;
  } catch {
    // No /proc (a locked-down sandbox): run at the inherited priority.
    return undefined;
  }
}
