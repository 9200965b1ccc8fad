/**
 * Contenders measured in turns, in rounds, after the same warm-up: this machine's speed drifts over minutes,
 * and measuring each contender in one block would fold that drift into the ratios. Each contender's figure is
 * its calls over its total time, and its event-loop delay is recorded only during its own rounds.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loopDelayP99Ms, throughput, type Call } from './measure.js';

export interface Contender {
  readonly label: string;
  readonly call: Call;
  /**
   * Measures the contender itself instead of `call` from the callers (a ceiling that needs no callers, such as
   * bench/raw-threads.ts): resolves with calls per second over `seconds`.
   */
  readonly measure?: (seconds: number) => Promise<number>;
}

export interface RoundsResult {
  /** Calls per second, averaged over the rounds. */
  readonly perSecond: number;
  /** Event-loop delay p99 (ms) over this contender's rounds. */
  readonly loopDelayP99Ms: number;
  readonly perRound: number[];
}

export async function inRounds(
  contenders: readonly Contender[],
  options: {
    callers: number;
    seconds: number;
    rounds: number;
    warmupSeconds: number;
    progress?: (line: string) => void;
  },
): Promise<Map<string, RoundsResult>> {
  const { callers, seconds, rounds, warmupSeconds } = options;
  const runs = new Map<string, number[]>(contenders.map((c) => [c.label, []]));
  const delays = new Map(contenders.map((c) => [c.label, monitorEventLoopDelay({ resolution: 1 })]));
  for (const c of contenders) {
    if (c.measure) await c.measure(warmupSeconds);
    else await throughput(c.call, callers, warmupSeconds, 0);
  }
  for (let round = 0; round < rounds; round++) {
    for (const c of contenders) {
      const perSecond = c.measure
        ? await c.measure(seconds / rounds)
        : (await throughput(c.call, callers, seconds / rounds, 0, delays.get(c.label))).perSecond;
      runs.get(c.label)?.push(perSecond);
    }
    options.progress?.(
      `round ${round + 1}/${rounds}: ${contenders.map((c) => `${c.label} ${Math.round(runs.get(c.label)?.at(-1) ?? 0)}`).join(', ')} calls/s`,
    );
  }
  return new Map(
    contenders.map((c) => {
      const rs = runs.get(c.label) ?? [];
      const hist = delays.get(c.label);
      return [
        c.label,
        {
          perSecond: rs.reduce((n, r) => n + r, 0) / rs.length,
          loopDelayP99Ms: hist ? loopDelayP99Ms(hist) : 0,
          perRound: rs.map(Math.round),
        },
      ];
    }),
  );
}

/** The contender with the most calls per second among `labels`. */
export function fastest(results: Map<string, RoundsResult>, labels: readonly string[]): [string, RoundsResult] {
  return labels
    .map((l) => [l, results.get(l) as RoundsResult] as [string, RoundsResult])
    .sort((a, b) => b[1].perSecond - a[1].perSecond)[0] as [string, RoundsResult];
}
