/**
 * The worker-count half of `modelship bench`: which worker counts to try (bounded by the cores) and which one to
 * recommend from what was measured. Pure, so the rule is tested on fixed points.
 */

/** One point of the sweep. */
export interface BenchPoint {
  readonly maxBatchSize: number;
  readonly maxQueueDelayMs: number;
  readonly concurrency: number;
  readonly requests: number;
  readonly throughput: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** One point of the worker sweep: the recommended batching, the highest concurrency, this many workers. */
export interface WorkerPoint {
  readonly workers: number;
  readonly concurrency: number;
  readonly requests: number;
  readonly throughput: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/**
 * Worker counts to sweep: 1, then doubling, and the core count itself, never above `cores` (more workers than
 * cores only adds contention). `--quick` tries 1 and 2 at most.
 */
export function workerCounts(cores: number, quick: boolean): number[] {
  const top = Math.max(1, Math.floor(cores));
  if (quick) return top >= 2 ? [1, 2] : [1];
  const counts = new Set<number>();
  for (let w = 1; w < top; w *= 2) counts.add(w);
  counts.add(top);
  return [...counts].sort((a, b) => a - b);
}

/**
 * The fewest workers whose throughput is within 5 % of the best among points meeting the p99 budget: a worker
 * that adds less than that costs a core (and memory for its session) for nothing measurable. When no point
 * meets the budget, the one with the lowest p99.
 */
export function recommendWorkers(points: readonly WorkerPoint[], p99Ms: number | undefined): WorkerPoint | undefined {
  const within = p99Ms === undefined ? points : points.filter((p) => p.p99Ms <= p99Ms);
  if (within.length === 0) return [...points].sort((a, b) => a.p99Ms - b.p99Ms)[0];
  const best = Math.max(...within.map((p) => p.throughput));
  return [...within].sort((a, b) => a.workers - b.workers).find((p) => p.throughput >= 0.95 * best);
}
