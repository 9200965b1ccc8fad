/** Timing helpers: latency percentiles, closed-loop throughput, event-loop delay. */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export type Call = () => Promise<unknown>;

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/**
 * One sequential caller per contender, the contenders taking turns in `rounds` after a warm-up of 500 calls
 * each, so that the machine's drift lands on all of them alike; each one's percentiles are over all its turns.
 */
export async function latencyInRounds(
  contenders: readonly { label: string; call: Call }[],
  seconds: number,
  rounds: number,
): Promise<Map<string, { p50: number; p99: number; calls: number }>> {
  const samples = new Map<string, number[]>(contenders.map((c) => [c.label, []]));
  for (const c of contenders) for (let i = 0; i < 500; i++) await c.call();
  for (let round = 0; round < rounds; round++) {
    for (const c of contenders) {
      const into = samples.get(c.label) as number[];
      const end = performance.now() + (seconds / rounds) * 1000;
      while (performance.now() < end) {
        const t0 = performance.now();
        await c.call();
        into.push((performance.now() - t0) * 1000);
      }
    }
  }
  return new Map(
    [...samples].map(([label, xs]) => {
      xs.sort((a, b) => a - b);
      return [label, { p50: percentile(xs, 50), p99: percentile(xs, 99), calls: xs.length }];
    }),
  );
}

/** `callers` concurrent closed loops until `end` (performance.now()); resolves with the number of calls. */
async function closedLoops(call: Call, callers: number, end: number): Promise<number> {
  let done = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        await call();
        done++;
      }
    }),
  );
  return done;
}

/**
 * `callers` concurrent closed loops for `seconds`; calls per second, and the event loop's p99 delay in ms
 * over the same window (resolution 1 ms, reported minus that resolution: an idle loop reads ≈ 0).
 *
 * Each case first runs the same loops for `warmupSeconds` untimed, so that what is measured is the steady
 * state (V8 has optimized the hot paths; for modelship, the workers' JIT too) and not how quickly each side
 * warms up. The baseline and modelship get the same warm-up.
 */
export async function throughput(
  call: Call,
  callers: number,
  seconds: number,
  warmupSeconds = Math.min(2, seconds / 2),
  /** Record the loop delay into this histogram (to summarize several windows together) instead of a fresh one. */
  histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 1 }),
): Promise<{ perSecond: number; loopDelayP99Ms: number }> {
  await closedLoops(call, callers, performance.now() + warmupSeconds * 1000);
  const start = performance.now();
  const end = start + seconds * 1000;
  histogram.enable();
  const done = await closedLoops(call, callers, end);
  histogram.disable();
  const elapsed = (performance.now() - start) / 1000;
  return { perSecond: done / elapsed, loopDelayP99Ms: loopDelayP99Ms(histogram) };
}

/** p99 of a `resolution: 1` loop-delay histogram in ms, minus that resolution (an idle loop reads ≈ 0). */
export function loopDelayP99Ms(histogram: IntervalHistogram): number {
  return Math.max(0, histogram.percentile(99) / 1e6 - 1);
}
