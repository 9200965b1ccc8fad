/**
 * `modelship bench <ref|file>`: the serving runtime (worker pool, dynamic batcher) on the user's own model, a
 * small bounded sweep of batch size, queue delay and concurrency, with throughput and p50/p99 per request, and
 * the settings that give the most throughput within a p99 budget (`--p99 20ms`). Each point runs for a fixed
 * request count, so the whole sweep is bounded: `--quick` is a few seconds.
 */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { loadModel, type LoadModelOptions, type Model, type PredictInput, type TensorSpec } from '../../index.node.js';
import { createCliLogger } from '../log.js';
import { durationMsOption, intOption } from '../parse-flags.js';
import { readSamples } from '../samples.js';
import { cliRef, registryForCli, withSourceFlags, type SourceFlags } from '../sources.js';
import { say } from '../ui.js';
import { printBench } from './bench-print.js';
import { recommendWorkers, workerCounts, type BenchPoint, type WorkerPoint } from './bench-workers.js';

interface BenchFlags extends SourceFlags {
  quick?: boolean;
  p99?: number;
  workers?: number;
  data?: string;
  requests?: number;
  json?: boolean;
}

export type { BenchPoint } from './bench-workers.js';

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

/** Loads the model with these settings, warms it, runs `each`, and closes it. */
async function withModel<T>(
  target: string,
  options: Omit<LoadModelOptions, 'logger' | 'registry'>,
  context: { registry: Awaited<ReturnType<typeof registryForCli>>; flags: BenchFlags },
  each: (model: Model, input: PredictInput) => Promise<T>,
): Promise<T> {
  const model = await loadModel(target, {
    ...(context.registry ? { registry: context.registry } : {}),
    ...options,
    logger: createCliLogger('text'),
  });
  try {
    await model.ready();
    const input =
      context.flags.data === undefined
        ? syntheticRow(model.signature.inputs)
        : firstRow((await readSamples(context.flags.data)).inputs);
    await runPoint(model, input, 1, 8); // warm the workers and the JIT first
    return await each(model, input);
  } finally {
    await model.close();
  }
}

async function runBench(ref: string, flags: BenchFlags): Promise<void> {
  const quick = flags.quick === true;
  const cores = availableParallelism();
  const workers = flags.workers ?? Math.min(cores, quick ? 2 : 4);
  const batchSizes = quick ? [1, 8] : [1, 8, 32];
  const delays = quick ? [0] : [0, 2];
  const concurrencies = quick ? [1, 8] : [1, 8, 32];
  const topConcurrency = concurrencies.at(-1) ?? 1;
  const requests = flags.requests ?? (quick ? 64 : 256);
  const target = cliRef(ref);
  const context = { registry: await registryForCli(target, flags), flags };
  const points: BenchPoint[] = [];
  let name = ref;
  for (const maxBatchSize of batchSizes) {
    for (const maxQueueDelayMs of maxBatchSize === 1 ? [0] : delays) {
      const batching = maxBatchSize === 1 ? (false as const) : { maxBatchSize, maxQueueDelayMs, adaptive: false };
      await withModel(target, { workers, batching }, context, async (model, input) => {
        name = `${model.name} ${model.version}`;
        for (const concurrency of concurrencies)
          points.push({
            maxBatchSize,
            maxQueueDelayMs,
            concurrency,
            requests,
            ...(await runPoint(model, input, concurrency, requests)),
          });
      });
    }
  }
  const best = recommend(points, flags.p99);
  // The worker sweep runs the batching just recommended at the highest concurrency, 1..cores workers (at most
  // --workers when given): more workers than cores only adds contention.
  const workerPoints: WorkerPoint[] = [];
  for (const w of workerCounts(Math.min(cores, flags.workers ?? cores), quick)) {
    const batching =
      best === undefined || best.maxBatchSize === 1
        ? (false as const)
        : { maxBatchSize: best.maxBatchSize, maxQueueDelayMs: best.maxQueueDelayMs, adaptive: false };
    workerPoints.push(
      await withModel(target, { workers: w, batching }, context, async (model, input) => ({
        workers: w,
        concurrency: topConcurrency,
        requests,
        ...(await runPoint(model, input, topConcurrency, requests)),
      })),
    );
  }
  const bestWorkers = recommendWorkers(workerPoints, flags.p99);
  const recommendedWorkers = bestWorkers?.workers ?? workers;
  // What the runtime chooses by itself (batching 'auto'): its batch-gain curve, its choice and why, and that
  // choice measured like the other points, so the fixed sweep and the adaptive default can be compared.
  const adaptive = await withModel(
    target,
    { workers: recommendedWorkers, batching: flags.p99 === undefined ? 'auto' : { p99BudgetMs: flags.p99 } },
    context,
    async (model, input) => ({
      ...model.stats().batching,
      point: { concurrency: topConcurrency, requests, ...(await runPoint(model, input, topConcurrency, requests)) },
    }),
  );
  const recommendation =
    best === undefined
      ? undefined
      : {
          maxBatchSize: best.maxBatchSize,
          maxQueueDelayMs: best.maxQueueDelayMs,
          workers: recommendedWorkers,
          withinBudget: flags.p99 === undefined || (best.p99Ms <= flags.p99 && (bestWorkers?.p99Ms ?? 0) <= flags.p99),
        };
  if (flags.json === true) {
    say(
      JSON.stringify(
        { model: name, workers, p99BudgetMs: flags.p99 ?? null, points, workerPoints, adaptive, recommendation },
        null,
        2,
      ),
    );
    return;
  }
  printBench({ name, workers, requests, points, workerPoints, adaptive, recommendation, p99: flags.p99 });
}
/** Adds `bench` to the program. */
export function benchCommand(program: Command): void {
  withSourceFlags(
    program
      .command('bench')
      .description('Measure your model on the serving runtime: batch-size, concurrency and worker sweeps, and settings')
      .argument('<ref>', 'a file, URL or registry reference')
      .option('--quick', 'a smaller sweep (a few seconds)')
      .option('--p99 <duration>', 'latency budget for the recommendation, e.g. 20ms', durationMsOption)
      .option(
        '--workers <n>',
        'worker threads for the batch sweep and the most the worker sweep tries (default: up to 4 cores; 2 with --quick)',
        intOption,
      )
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
