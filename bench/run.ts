/**
 * `npm run bench`: modelship against a raw onnxruntime-node session on the same model, measured in the same
 * run, reported as ratios (absolute numbers on a shared 2-core machine are noise; ratios travel).
 *
 * Cases (MNIST softmax model trained by the demo code, fixed seed):
 * - c1 p50 latency: one caller at a time, typed-array input — the per-call overhead of modelship.
 * - c1 p50 latency, nested-array input — what a JSON API pays for validation and conversion.
 * - c64 throughput: 64 concurrent in-process callers, batch 1.
 *
 * Flags: --quick (short runs for CI smoke). Writes bench/results.json.
 */
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import ort from 'onnxruntime-node';
import { loadModel } from 'modelship';
import { buildMnistModel } from '../examples/shared/demo-model.js';
import { IMAGE_SIZE } from '../examples/shared/mnist-data.js';

const quick = process.argv.includes('--quick');
const seconds = quick ? 0.5 : 3;

type Call = () => Promise<unknown>;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Sequential calls for `seconds`; returns per-call latencies in µs (after a warm-up). */
async function latency(call: Call): Promise<{ p50: number; p99: number; calls: number }> {
  for (let i = 0; i < 200; i++) await call();
  const samples: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    await call();
    samples.push((performance.now() - t0) * 1000);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), calls: samples.length };
}

/** `concurrency` callers looping for `seconds`; returns calls per second. */
async function throughput(call: Call, concurrency: number): Promise<number> {
  for (let i = 0; i < 200; i++) await call();
  let done = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await call();
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

function progress(line: string): void {
  process.stdout.write(`  ${line}\n`);
}

async function main(): Promise<void> {
  console.log(`modelship bench${quick ? ' (--quick)' : ''}: ${seconds}s per measurement`);
  const built = buildMnistModel({ seed: 1 });
  progress(`model: MNIST softmax, ${built.onnx.byteLength} bytes, test accuracy ${(built.accuracy * 100).toFixed(1)}%`);
  const pixels = built.test.images.slice(0, IMAGE_SIZE);
  const nested = [Array.from(pixels)];

  // Baseline: onnxruntime's defaults and a single intra-op thread; the faster one is the reference.
  const rawDefault = await ort.InferenceSession.create(built.onnx);
  const rawSingle = await ort.InferenceSession.create(built.onnx, { intraOpNumThreads: 1 });
  const rawCall = (s: ort.InferenceSession): Call => () => s.run({ pixels: new ort.Tensor('float32', pixels, [1, IMAGE_SIZE]) });
  const model = await loadModel(built.onnx, { name: 'mnist', version: '1' });
  await model.ready();
  const typedCall: Call = () => model.predict(pixels);
  const nestedCall: Call = () => model.predict(nested);

  const results: Record<string, number> = {};
  const details: Record<string, unknown> = {};

  progress('c1 latency: raw (default options)…');
  const rawLatDefault = await latency(rawCall(rawDefault));
  progress('c1 latency: raw (intraOpNumThreads 1)…');
  const rawLatSingle = await latency(rawCall(rawSingle));
  const rawLat = rawLatDefault.p50 <= rawLatSingle.p50 ? rawLatDefault : rawLatSingle;
  progress('c1 latency: modelship, typed array…');
  const msLat = await latency(typedCall);
  progress('c1 latency: modelship, nested array (JSON-shaped)…');
  const msLatNested = await latency(nestedCall);
  results.mnist_c1_p50_latency_ratio = msLat.p50 / rawLat.p50;
  results.mnist_c1_nested_p50_latency_ratio = msLatNested.p50 / rawLat.p50;
  details.latency_us = { raw_default: rawLatDefault, raw_single_thread: rawLatSingle, modelship_typed: msLat, modelship_nested: msLatNested };

  progress('c64 throughput: raw (default options)…');
  const rawTputDefault = await throughput(rawCall(rawDefault), 64);
  progress('c64 throughput: raw (intraOpNumThreads 1)…');
  const rawTputSingle = await throughput(rawCall(rawSingle), 64);
  const rawTput = Math.max(rawTputDefault, rawTputSingle);
  progress('c64 throughput: modelship…');
  const msTput = await throughput(typedCall, 64);
  results.mnist_c64_throughput_ratio = msTput / rawTput;
  details.throughput_calls_per_s = { raw_default: rawTputDefault, raw_single_thread: rawTputSingle, modelship: msTput };

  await model.close();
  await Promise.all([rawDefault.release(), rawSingle.release()]);

  const rows: Array<[string, string, string, string]> = [
    ['c1 p50 latency (µs), typed', rawLat.p50.toFixed(1), msLat.p50.toFixed(1), results.mnist_c1_p50_latency_ratio.toFixed(2)],
    ['c1 p50 latency (µs), nested', rawLat.p50.toFixed(1), msLatNested.p50.toFixed(1), results.mnist_c1_nested_p50_latency_ratio.toFixed(2)],
    ['c64 throughput (calls/s)', rawTput.toFixed(0), msTput.toFixed(0), results.mnist_c64_throughput_ratio.toFixed(2)],
  ];
  console.log('\ncase                          raw        modelship  ratio');
  for (const [name, raw, ms, ratio] of rows) console.log(`${name.padEnd(30)}${raw.padEnd(11)}${ms.padEnd(11)}${ratio}`);

  const machine = { cpus: availableParallelism(), cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, onnxruntime: ort.env.versions.node };
  const file = new URL('./results.json', import.meta.url);
  await writeFile(file, `${JSON.stringify({ machine, quick, results, details }, null, 2)}\n`);
  console.log(`\nwrote ${file.pathname}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
