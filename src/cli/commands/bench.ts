/**
 * `modelship bench <ref|file>`: the serving runtime (worker pool, dynamic batcher) on the user's own model, a
 * small bounded sweep of batch size, queue delay and concurrency, with throughput and p50/p99 per request, and
 * the settings that give the most throughput within a p99 budget (`--p99 20ms`). Each point runs for a fixed
 * request count, so the whole sweep is bounded: `--quick` is a few seconds.
 */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { loadModel, type Model, type PredictInput, type TensorSpec } from '../../index.node.js';
import { createCliLogger } from '../log.js';
import { durationMsOption, intOption } from '../parse-flags.js';
import { readSamples } from '../samples.js';
import { cliRef, registryForCli, withSourceFlags, type SourceFlags } from '../sources.js';
import { say, table } from '../ui.js';

interface BenchFlags extends SourceFlags {
  quick?: boolean;
  p99?: number;
  workers?: number;
  data?: string;
  requests?: number;
  json?: boolean;
}

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

const ARRAYS: Partial<Record<string, new (n: number) => ArrayLike<unknown>>> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
};

/** One row of zeros per input, shaped by the signature (dynamic dimensions 1). */
function syntheticRow(inputs: readonly TensorSpec[]): PredictInput {
  const out: Record<string, unknown> = {};
  for (const t of inputs) {
    const shape = (t.shape ?? []).map((d) => d ?? 1);
    const size = shape.reduce((a, b) => a * b, 1);
    const Ctor = ARRAYS[t.dtype];
    const data = Ctor ? new Ctor(size) : Array.from({ length: size }, () => (t.dtype === 'bool' ? false : ''));
    out[t.name] = { data, shape };
  }
  return out as PredictInput;
}

/** The first row of a sample batch, as a batch of one. */
function firstRow(batch: PredictInput): PredictInput {
  if (Array.isArray(batch)) return [batch[0]] as PredictInput;
  return Object.fromEntries(
    Object.entries(batch as Record<string, unknown[]>).map(([k, v]) => [k, [v[0]]]),
  ) as PredictInput;
}

const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

async function runPoint(model: Model, input: PredictInput, concurrency: number, requests: number) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < requests) {
        const t0 = performance.now();
        await model.predict(input);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { throughput: requests / seconds, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99) };
}

/** The point with the most throughput whose p99 is within the budget (the lowest p99 when none is). */
export function recommend(points: readonly BenchPoint[], p99Ms: number | undefined): BenchPoint | undefined {
  const within = p99Ms === undefined ? points : points.filter((p) => p.p99Ms <= p99Ms);
  if (within.length === 0) return [...points].sort((a, b) => a.p99Ms - b.p99Ms)[0];
  return [...within].sort((a, b) => b.throughput - a.throughput)[0];
}

async function runBench(ref: string, flags: BenchFlags): Promise<void> {
  const quick = flags.quick === true;
  const workers = flags.workers ?? Math.min(availableParallelism(), quick ? 2 : 4);
  const batchSizes = quick ? [1, 8] : [1, 8, 32];
  const delays = quick ? [0] : [0, 2];
  const concurrencies = quick ? [1, 8] : [1, 8, 32];
  const requests = flags.requests ?? (quick ? 64 : 256);
  const target = cliRef(ref);
  const registry = await registryForCli(target, flags);
  const logger = createCliLogger('text');
  const points: BenchPoint[] = [];
  let name = ref;
  for (const maxBatchSize of batchSizes) {
    for (const maxQueueDelayMs of maxBatchSize === 1 ? [0] : delays) {
      const model = await loadModel(target, {
        ...(registry ? { registry } : {}),
        workers,
        batching: maxBatchSize === 1 ? false : { maxBatchSize, maxQueueDelayMs },
        logger,
      });
      try {
        await model.ready();
        name = `${model.name} ${model.version}`;
        const input =
          flags.data === undefined
            ? syntheticRow(model.signature.inputs)
            : firstRow((await readSamples(flags.data)).inputs);
        await runPoint(model, input, 1, Math.min(8, requests)); // warm the workers and the JIT first
        for (const concurrency of concurrencies)
          points.push({
            maxBatchSize,
            maxQueueDelayMs,
            concurrency,
            requests,
            ...(await runPoint(model, input, concurrency, requests)),
          });
      } finally {
        await model.close();
      }
    }
  }
  const best = recommend(points, flags.p99);
  const recommendation =
    best === undefined
      ? undefined
      : {
          maxBatchSize: best.maxBatchSize,
          maxQueueDelayMs: best.maxQueueDelayMs,
          workers,
          withinBudget: flags.p99 === undefined || best.p99Ms <= flags.p99,
        };
  if (flags.json === true) {
    say(JSON.stringify({ model: name, workers, p99BudgetMs: flags.p99 ?? null, points, recommendation }, null, 2));
    return;
  }
  say(`${name}: ${workers} workers, ${requests} single-row requests per point`);
  say(
    table([
      ['maxBatch', 'delay ms', 'concurrency', 'req/s', 'p50 ms', 'p99 ms'],
      ...points.map((p) => [
        String(p.maxBatchSize),
        String(p.maxQueueDelayMs),
        String(p.concurrency),
        p.throughput.toFixed(0),
        p.p50Ms.toFixed(2),
        p.p99Ms.toFixed(2),
      ]),
    ]),
  );
  if (recommendation !== undefined)
    say(
      `recommended: batching { maxBatchSize: ${recommendation.maxBatchSize}, maxQueueDelayMs: ${recommendation.maxQueueDelayMs} }, workers: ${workers}` +
        (flags.p99 === undefined
          ? ' (most throughput; pass --p99 for a latency budget)'
          : recommendation.withinBudget
            ? ` (most throughput with p99 ≤ ${flags.p99} ms)`
            : ` (no point met p99 ≤ ${flags.p99} ms; this one has the lowest p99)`),
    );
}

/** Adds `bench` to the program. */
export function benchCommand(program: Command): void {
  withSourceFlags(
    program
      .command('bench')
      .description('Measure your model on the serving runtime: a batch-size and concurrency sweep, and settings')
      .argument('<ref>', 'a file, URL or registry reference')
      .option('--quick', 'a smaller sweep (a few seconds)')
      .option('--p99 <duration>', 'latency budget for the recommendation, e.g. 20ms', durationMsOption)
      .option('--workers <n>', 'worker threads (default: up to 4 cores; 2 with --quick)', intOption)
      .option('--requests <n>', 'requests per point (default 256; 64 with --quick)', intOption)
      .option('--data <file>', 'JSON Lines sample whose first row is sent (default: zeros shaped by the signature)')
      .option('--json', 'print JSON'),
  )
    .addHelpText(
      'after',
      `
Figures are for this machine under its current load; compare settings within one run.

Examples:
  $ modelship bench ./model.onnx --quick
  $ modelship bench mnist@production --p99 20ms --json`,
    )
    .action(async (ref: string, flags: BenchFlags) => {
      await runBench(ref, flags);
    });
}
