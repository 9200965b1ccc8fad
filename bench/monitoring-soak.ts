/**
 * `npm run soak:monitoring`: 1M predictions of the real MNIST model with monitoring on (every one with a request
 * id, drift sampled at 10 % within the default budget) and 1M feedback calls (half for ids still in the join
 * window, half for ids that already left it), the heap measured after a garbage collection once the window is
 * full and again at the end.
 * Memory must stay flat: the join window holds at most `capacity` predictions, the drift windows bins × features.
 * test/monitoring/bounded-memory.test.ts runs the short form (the monitor driven without inference).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fileURLToPath } from 'node:url';
import { createBaseline, loadModel, silentLogger, type ModelMonitor } from 'modelship';
import type { TensorLike } from '../src/spec/tensor.js';
import { IMAGE_SIZE, loadMnist } from '../examples/shared/mnist-data.js';
import { buildTinyMnistModel } from '../examples/shared/demo-model.js';

/** `global.gc`, exposed on demand so no runner flag is needed. */
export function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Heap used after two full collections, in bytes. */
export function settledHeap(gc: () => void): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Drives `monitor` as serving does, `count` requests from `start`: each answer recorded under its id, 10 % of
 * them sampled for drift, and a label for the request `lag` ids earlier (older ones have left the window).
 */
export function driveMonitor(
  monitor: ModelMonitor,
  feeds: Record<string, TensorLike>,
  outputs: Record<string, TensorLike>,
  start: number,
  count: number,
  lag: number,
): void {
  for (let i = start; i < start + count; i++) {
    monitor.observe(feeds, outputs, `req-${i}`, i % 10 === 0);
    if (i >= lag) monitor.feedback(`req-${i - lag}`, i % 10);
    if (i % 1000 === 0) monitor.flush();
  }
  monitor.flush();
}

async function main(): Promise<void> {
  const requests = Number(process.env.SOAK_REQUESTS ?? 1_000_000);
  const mnist = buildTinyMnistModel();
  const plain = await loadModel(mnist.onnx, { name: 'mnist', version: '1', logger: silentLogger });
  const { train } = loadMnist({ seed: 1 });
  const rows = 2000;
  const pixels = {
    dtype: 'float32' as const,
    shape: [rows, IMAGE_SIZE],
    data: train.images.slice(0, rows * IMAGE_SIZE),
  };
  const baseline = createBaseline(
    { inputs: { pixels }, outputs: await plain.predict({ pixels }) },
    { signature: plain.signature },
  );
  await plain.close();
  const capacity = 100_000;
  const model = await loadModel(mnist.onnx, {
    name: 'mnist',
    version: '1',
    logger: silentLogger,
    monitoring: { baseline, interval: '5s', feedback: { capacity } },
  });
  const gc = collector();
  const image = (i: number): Float32Array =>
    mnist.test.images.slice((i % mnist.test.count) * IMAGE_SIZE, ((i % mnist.test.count) + 1) * IMAGE_SIZE);
  const batch = 512;
  let before = 0;
  const started = performance.now();
  for (let done = 0; done < requests; done += batch) {
    await Promise.all(
      Array.from({ length: batch }, (_, k) =>
        model.predict(
          { pixels: { dtype: 'float32', shape: [1, IMAGE_SIZE], data: image(done + k) } },
          { requestId: `req-${done + k}` },
        ),
      ),
    );
    // Labels for requests 50 000 back (still in the window: they join) and 150 000 back (gone: expired).
    for (let k = 0; k < batch; k++) {
      const i = done + k - (k % 2 === 0 ? 50_000 : 150_000);
      if (i >= 0) model.feedback(`req-${i}`, mnist.test.labels[i % mnist.test.count] ?? 0);
    }
    if (before === 0 && done >= 2 * capacity) before = settledHeap(gc);
    if (done % 100_000 < batch)
      console.log(`  ${done} requests, heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)} MiB`);
  }
  const after = settledHeap(gc);
  const report = model.monitoring?.report();
  await model.close();
  const mib = (n: number): string => (n / 2 ** 20).toFixed(1);
  console.log(
    `${requests} requests + feedback in ${((performance.now() - started) / 1000).toFixed(0)} s: heap ${mib(before)} MiB with the window full, ${mib(after)} MiB at the end (${(((after - before) / before) * 100).toFixed(1)} %); pending ${report?.pending}, labels joined ${report?.labels}`,
  );
  if (after > before * 1.1 + 4 * 2 ** 20) {
    console.error('FAILED: the heap grew by more than 10 % + 4 MiB');
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
