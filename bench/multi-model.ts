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
export interface MultiModelDuringLoad {
  readonly ratio: number;
  readonly aloneP99Us: number;
  readonly duringLoadP99Us: number;
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
    const callA = () => (a as ServableModel).predict(input);
    await repository.load('a');
    for (let i = 0; i < 500; i++) await callA();
    const alone: number[] = [];
    const during: number[] = [];
    const loadsBefore = repository.stats().loads;
    for (let round = 0; round < options.rounds; round++) {
      await sample(callA, options.seconds, alone);
      let stop = false;
      // B and C in turn: each first call loads its model, which evicts the other (A is always more recent).
      const churn = (async () => {
        for (let i = 0; !stop; i++) await (i % 2 === 0 ? (b as ServableModel) : (c as ServableModel)).predict(input);
      })();
      await sample(callA, options.seconds, during);
      stop = true;
      await churn;
      options.progress(`multi-model round ${round + 1}: ${repository.stats().loads - loadsBefore} loads so far`);
    }
    alone.sort((x, y) => x - y);
    during.sort((x, y) => x - y);
    const aloneP99Us = percentile(alone, 99);
    const duringLoadP99Us = percentile(during, 99);
    const stats = repository.stats();
    return {
      ratio: duringLoadP99Us / aloneP99Us,
      aloneP99Us,
      duringLoadP99Us,
      loadsDuringMeasure: stats.loads - loadsBefore,
      evictions: stats.evictions,
    };
  } finally {
    await repository.close();
  }
}

/** The raw reference's figures: A's p99 (µs) alone and while another thread loads, and the loads per second. */
export interface RawLoadReference {
  readonly ratio: number;
  readonly aloneP99Us: number;
  readonly duringLoadP99Us: number;
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
  const call = () => session.run(feeds);
  const loader = new Worker(LOADER, { eval: true, workerData: { path, width: m.row.length } });
  try {
    for (let i = 0; i < 500; i++) await call();
    const alone: number[] = [];
    const during: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      await sample(call, options.seconds, alone);
      loader.postMessage(true);
      await sample(call, options.seconds, during);
      loader.postMessage(false);
    }
    const loads = await new Promise<number>((resolve) => {
      loader.once('message', resolve);
      loader.postMessage('count');
    });
    alone.sort((x, y) => x - y);
    during.sort((x, y) => x - y);
    const aloneP99Us = percentile(alone, 99);
    const duringLoadP99Us = percentile(during, 99);
    return {
      ratio: duringLoadP99Us / aloneP99Us,
      aloneP99Us,
      duringLoadP99Us,
      loadsPerSecond: loads / (options.seconds * options.rounds),
    };
  } finally {
    await loader.terminate();
    await session.release();
  }
}
