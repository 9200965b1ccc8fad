/** The table form of `modelship bench`'s report (the `--json` form carries the same fields). */
import type { BatchingStats } from '../../index.node.js';
import { say, table } from '../ui.js';
import type { BenchPoint, WorkerPoint } from './bench-workers.js';

/** Everything the bench measured, as printed. */
export interface BenchReport {
  readonly name: string;
  readonly workers: number;
  readonly requests: number;
  readonly points: readonly BenchPoint[];
  readonly workerPoints: readonly WorkerPoint[];
  readonly adaptive: BatchingStats & { readonly point: Omit<WorkerPoint, 'workers'> };
  readonly recommendation:
    { maxBatchSize: number; maxQueueDelayMs: number; workers: number; withinBudget: boolean } | undefined;
  readonly p99: number | undefined;
}

const ms = (n: number): string => n.toFixed(2);

/** Prints the sweeps, the adaptive batching's curve and choice, and the recommendation. */
export function printBench(r: BenchReport): void {
  say(`${r.name}: ${r.requests} single-row requests per point`);
  say(`\nbatch sweep (${r.workers} workers)`);
  say(
    table([
      ['maxBatch', 'delay ms', 'concurrency', 'req/s', 'p50 ms', 'p99 ms'],
      ...r.points.map((p) => [
        String(p.maxBatchSize),
        String(p.maxQueueDelayMs),
        String(p.concurrency),
        p.throughput.toFixed(0),
        ms(p.p50Ms),
        ms(p.p99Ms),
      ]),
    ]),
  );
  say(`\nworker sweep (recommended batching, concurrency ${r.workerPoints[0]?.concurrency ?? 1})`);
  say(
    table([
      ['workers', 'req/s', 'p50 ms', 'p99 ms'],
      ...r.workerPoints.map((p) => [String(p.workers), p.throughput.toFixed(0), ms(p.p50Ms), ms(p.p99Ms)]),
    ]),
  );
  const a = r.adaptive;
  say(`\nadaptive batching (batching: 'auto'): batch-gain curve measured at warm-up`);
  say(
    a.curve.length === 0
      ? '  no curve: the input shapes are not known, or batching is off for this model'
      : table([
          ['rows', 'run ms', 'rows/s', 'gain'],
          ...a.curve.map((p) => [String(p.rows), ms(p.ms), p.rowsPerSecond.toFixed(0), `${p.gain.toFixed(2)}×`]),
        ]),
  );
  say(
    `chosen: maxBatchSize ${a.maxBatchSize}, queue delay ${ms(a.maxQueueDelayMs)} ms (${a.mode}); ` +
      `${a.point.throughput.toFixed(0)} req/s, p99 ${ms(a.point.p99Ms)} ms at concurrency ${a.point.concurrency}`,
  );
  say(`  ${a.reason}`);
  const rec = r.recommendation;
  if (rec === undefined) return;
  say(
    `\nrecommended: batching { maxBatchSize: ${rec.maxBatchSize}, maxQueueDelayMs: ${rec.maxQueueDelayMs} }, workers: ${rec.workers}` +
      (r.p99 === undefined
        ? ' (most throughput; the fewest workers within 5 % of the best; pass --p99 for a latency budget)'
        : rec.withinBudget
          ? ` (most throughput with p99 ≤ ${r.p99} ms; the fewest workers within 5 % of the best)`
          : ` (no point met p99 ≤ ${r.p99} ms; these have the lowest p99)`),
  );
}
