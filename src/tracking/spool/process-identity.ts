import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Who a process is, beyond its PID. PIDs are reused: in a container the app is PID 1 after every restart, so
 * "is PID n alive?" says nothing about whether the process that wrote a spool still runs. Linux gives each
 * process a start time (`/proc/<pid>/stat` field 22, clock ticks since boot) and each boot an id; the pair
 * (boot id, start time) names one process for good. Elsewhere only the nonce is known.
 */
export interface ProcessIdentity {
  readonly pid: number;
  /** Random per process: tells this process from an earlier one that had the same PID. */
  readonly nonce: string;
  /** `/proc/sys/kernel/random/boot_id` (Linux only). */
  readonly bootId?: string;
  /** Start time in clock ticks since boot (Linux only). */
  readonly startTicks?: number;
}

/** Field 22 of `/proc/<pid>/stat`; undefined where there is no such file (not Linux, or the process is gone). */
export function readStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 is the command name in parentheses and may itself contain spaces or ')': count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isSafeInteger(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

let self: ProcessIdentity | undefined;

/** This process's identity, computed once. */
export function currentProcess(): ProcessIdentity {
  if (self === undefined) {
    const bootId = readBootId();
    const startTicks = readStartTicks(process.pid);
    self = {
      pid: process.pid,
      nonce: randomBytes(8).toString('hex'),
      ...(bootId === undefined ? {} : { bootId }),
      ...(startTicks === undefined ? {} : { startTicks }),
    };
  }
  return self;
}

/**
 * Whether the process an owner record names is still running on this host: `true`/`false` when that can be
 * told for sure, `undefined` when only "some process has this PID" is known (no /proc), so the caller falls back
 * to the owner's heartbeat.
 */
export function isSameProcessAlive(owner: {
  pid: number;
  nonce?: unknown;
  bootId?: unknown;
  startTicks?: unknown;
}): boolean | undefined {
  const me = currentProcess();
  // Same PID: either this very process (same nonce) or an earlier one whose PID we inherited.
  if (owner.pid === me.pid) return owner.nonce === me.nonce;
  if (!pidExists(owner.pid)) return false;
  if (typeof owner.bootId === 'string' && me.bootId !== undefined && owner.bootId !== me.bootId) return false; // written before a reboot
  if (typeof owner.startTicks === 'number') {
    const ticks = readStartTicks(owner.pid);
    if (ticks !== undefined) return ticks === owner.startTicks;
  }
  return undefined;
}

function pidExists(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
