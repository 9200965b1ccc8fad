/**
 * The ceiling for a model on this machine's cores: one raw onnxruntime-node session (one intra-op thread) per
 * worker thread, each running the same request back to back with nothing between runs: no callers, no
 * hand-off, no copies. What any in-process server with that many threads could reach at most; the bench
 * reports it as a reference beside the raw single-session baseline.
 */
import { Worker } from 'node:worker_threads';
import type { PredictInput } from 'modelship';

// Plain JavaScript, so the threads need no TypeScript loader. Tensors come as { data, shape } (typed arrays
// survive structured cloning); the dtype follows from the typed array.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require('onnxruntime-node');
const DTYPES = { Float32Array: 'float32', Float64Array: 'float64', BigInt64Array: 'int64', Int32Array: 'int32', Uint8Array: 'uint8', Int8Array: 'int8' };
(async () => {
  const session = await ort.InferenceSession.create(workerData.path, { intraOpNumThreads: 1 });
  const feeds = {};
  for (const [name, t] of Object.entries(workerData.input))
    feeds[name] = new ort.Tensor(DTYPES[t.data.constructor.name], t.data, t.shape);
  parentPort.on('message', async (seconds) => {
    const end = performance.now() + seconds * 1000;
    const start = performance.now();
    let runs = 0;
    while (performance.now() < end) { await session.run(feeds); runs++; }
    parentPort.postMessage(runs / ((performance.now() - start) / 1000));
  });
  parentPort.postMessage('ready');
})();`;

export interface RawThreads {
  /** Runs every thread for `seconds`; resolves with their runs per second, summed. */
  measure(seconds: number): Promise<number>;
  close(): Promise<void>;
}

export async function rawThreads(path: string, input: PredictInput, threads: number): Promise<RawThreads> {
  const workers = Array.from(
    { length: threads },
    () => new Worker(WORKER, { eval: true, workerData: { path, input } }),
  );
  const next = (w: Worker): Promise<unknown> =>
    new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
  await Promise.all(workers.map(next));
  return {
    async measure(seconds) {
      const rates = await Promise.all(
        workers.map((w) => {
          const answer = next(w);
          w.postMessage(seconds);
          return answer as Promise<number>;
        }),
      );
      return rates.reduce((a, b) => a + b, 0);
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
