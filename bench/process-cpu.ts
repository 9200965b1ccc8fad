/**
 * CPU time of another process, read from Linux's /proc: the bench uses it to show what each protocol costs the
 * server per request, which is what a throughput ratio stands for only when the server is the bottleneck. On a
 * machine shared with other work, requests per second follow the CPU each process gets; CPU per request does not.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100; // the value on every Linux the bench has met
    }
  }
  return ticksPerSecond;
}

/**
 * User + system CPU milliseconds used so far by process `pid`, all its threads (the model's worker threads
 * included), or undefined where /proc is not there (macOS, Windows).
 */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
  } catch {
    return undefined;
  }
}
