/**
 * `multi_model_p99_during_load_ratio`: three copies of the MNIST MLP in one model repository that holds two
 * (`maxLoadedModels: 2`). Model A is called by one sequential caller; its p99 latency while B and C take
 * turns being loaded (each load evicts the other, idle one) is compared with its p99 while nothing loads, in
 * alternating rounds of the same run. Target ≤ 1.5: a load (file read, session and workers started) must not
 * stall the models already serving.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { createModelRepository, loadModel, silentLogger, type ServableModel } from 'modelship';
import { percentile } from './measure.js';
import type { BenchModel } from './models.js';

/** What the case reports: the ratio, the two p99s behind it (µs) and how many loads ran meanwhile. */
export interface MultiModelDuringLoad extends DuringLoad {
  readonly loadsDuringMeasure: number;
  readonly evictions: number;
}

async function sample(call: () => Promise<unknown>, seconds: number, into: number[]): Promise<void> {
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    await call();
    into.push((performance.now() - t0) * 1000);
  }
}

/** A's p99 (µs) alone and beside the loads, and their ratio. */
interface DuringLoad {
  readonly ratio: number;
  readonly aloneP99Us: number;
  readonly duringLoadP99Us: number;
}

/**
 * After 500 warm-up calls, `call` sampled alone and then beside the loads (from `loads.start()` until
 * `loads.stop()` has settled), in alternating rounds of `seconds` each.
 */
async function aloneAndDuringLoads(
  call: () => Promise<unknown>,
  loads: { start(): void; stop(): Promise<void> },
  options: { seconds: number; rounds: number; afterRound?: (round: number) => void },
): Promise<DuringLoad> {
  for (let i = 0; i < 500; i++) await call();
  const alone: number[] = [];
  const during: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    await sample(call, options.seconds, alone);
    loads.start();
    await sample(call, options.seconds, during);
    await loads.stop();
    options.afterRound?.(round);
  }
  alone.sort((x, y) => x - y);
  during.sort((x, y) => x - y);
  const aloneP99Us = percentile(alone, 99);
  const duringLoadP99Us = percentile(during, 99);
  return { ratio: duringLoadP99Us / aloneP99Us, aloneP99Us, duringLoadP99Us };
}

/** Runs the case in `dir` (the model files go there). */
export async function multiModelDuringLoad(
  m: BenchModel,
  dir: string,
  options: { seconds: number; rounds: number; progress(line: string): void },
): Promise<MultiModelDuringLoad> {
  const models: Record<string, string> = {};
  for (const name of ['a', 'b', 'c']) {
    models[name] = join(dir, `multi-${name}.onnx`);
    await writeFile(models[name], m.onnx);
  }
  const repository = createModelRepository({
    models,
    load: (ref) => loadModel(ref, { logger: silentLogger }),
    maxLoadedModels: 2,
  });
  try {
    const [a, b, c] = repository.models as ServableModel[];
    const input = m.row;
    await repository.load('a');
    const loadsBefore = repository.stats().loads;
    let stop = false;
    let churn: Promise<void> = Promise.resolve();
    const measured = await aloneAndDuringLoads(
      () => (a as ServableModel).predict(input),
      {
        // B and C in turn: each first call loads its model, which evicts the other (A is always more recent).
        start() {
          stop = false;
          churn = (async () => {
            for (let i = 0; !stop; i++)
              await (i % 2 === 0 ? (b as ServableModel) : (c as ServableModel)).predict(input);
          })();
        },
        stop() {
          stop = true;
          return churn;
        },
      },
      {
        ...options,
        afterRound: (round) =>
          options.progress(`multi-model round ${round + 1}: ${repository.stats().loads - loadsBefore} loads so far`),
      },
    );
    const stats = repository.stats();
    return { ...measured, loadsDuringMeasure: stats.loads - loadsBefore, evictions: stats.evictions };
  } finally {
    await repository.close();
  }
}

/** The raw reference's figures: A's p99 (µs) alone and while another thread loads, and the loads per second. */
export interface RawLoadReference extends DuringLoad {
  readonly loadsPerSecond: number;
}

// Plain JavaScript, so the thread needs no TypeScript loader: while told to, it creates a session of the file
// with onnxruntime's default options, runs it once and releases it, back to back.
const LOADER = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require('onnxruntime-node');
let on = false;
let loads = 0;
parentPort.on('message', async (v) => {
  if (v === 'count') return parentPort.postMessage(loads);
  on = v;
  while (on) {
    const s = await ort.InferenceSession.create(workerData.path);
    const x = new ort.Tensor('float32', new Float32Array(workerData.width), [1, workerData.width]);
    await s.run({ [s.inputNames[0]]: x });
    await s.release();
    loads++;
    await new Promise((r) => setImmediate(r));
  }
});`;

/**
 * A reference for `multi_model_p99_during_load_ratio`, without a target: model A as one raw onnxruntime
 * session called by one sequential caller, alone and while a worker thread loads, runs and releases sessions
 * of the same file back to back, in the same alternating rounds. What a load costs the models beside it when
 * only onnxruntime and the OS take part; the rest of modelship's figure is modelship's own work per load.
 */
export async function rawLoadReference(
  m: BenchModel,
  dir: string,
  options: { seconds: number; rounds: number },
): Promise<RawLoadReference> {
  const path = join(dir, 'raw-reference.onnx');
  await writeFile(path, m.onnx);
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
  const feeds = { [session.inputNames[0] as string]: new ort.Tensor('float32', m.row, [1, m.row.length]) };
  const loader = new Worker(LOADER, { eval: true, workerData: { path, width: m.row.length } });
  try {
    const measured = await aloneAndDuringLoads(
      () => session.run(feeds),
      {
        start: () => loader.postMessage(true),
        stop: async () => loader.postMessage(false),
      },
      options,
    );
    const loads = await new Promise<number>((resolve) => {
      loader.once('message', resolve);
      loader.postMessage('count');
    });
    return { ...measured, loadsPerSecond: loads / (options.seconds * options.rounds) };
  } finally {
    await loader.terminate();
    await session.release();
  }
}
