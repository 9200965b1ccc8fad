/**
 * Memory stays bounded: the short form of `npm run soak:monitoring` (which serves 1M real predictions). Here the
 * monitor of a real MNIST model is driven as serving drives it, with the model's real answer to a real digit,
 * 250 000 requests with ids (10 % sampled for drift) and as many labels for the requests 10 000 earlier.
 */
import { describe, expect, it } from 'vitest';
import { createBaseline, loadModel, silentLogger } from 'modelship';
import { collector, driveMonitor, settledHeap } from '../../bench/monitoring-soak.js';
import { IMAGE_SIZE, loadMnist } from '../../examples/shared/mnist-data.js';
import { tinyMnist } from '../helpers/models.js';

describe('monitoring memory', () => {
  it('stays flat over 250 000 requests and labels once the join window is full', async () => {
    const mnist = tinyMnist();
    const plain = await loadModel(mnist.onnx, { name: 'mnist', version: '1', workers: 1, logger: silentLogger });
    const { train } = loadMnist({ seed: 1 });
    const pixels = {
      dtype: 'float32' as const,
      shape: [1000, IMAGE_SIZE],
      data: train.images.slice(0, 1000 * IMAGE_SIZE),
    };
    const baseline = createBaseline(
      { inputs: { pixels }, outputs: await plain.predict({ pixels }) },
      { signature: plain.signature },
    );
    const feeds = {
      pixels: { dtype: 'float32' as const, shape: [1, IMAGE_SIZE], data: mnist.test.images.slice(0, IMAGE_SIZE) },
    };
    const outputs = await plain.predict(feeds);
    await plain.close();
    const model = await loadModel(mnist.onnx, {
      name: 'mnist',
      version: '2',
      workers: 1,
      logger: silentLogger,
      monitoring: {
        baseline,
        interval: 0,
        maxSamples: 5000,
        maxSamplesPerSecond: 1_000_000,
        feedback: { capacity: 20_000 },
      },
    });
    try {
      const monitor = model.monitoring!;
      const gc = collector();
      driveMonitor(monitor, feeds, outputs, 0, 100_000, 10_000);
      const before = settledHeap(gc);
      driveMonitor(monitor, feeds, outputs, 100_000, 150_000, 10_000);
      const after = settledHeap(gc);
      const report = monitor.report();
      expect(report.pending).toBeLessThanOrEqual(20_000);
      expect(report.predictions).toBe(250_000);
      // Each label is for the request 10 000 back, still in the window of 20 000.
      expect(report.labels).toBe(240_000);
      expect(monitor.feedback('req-0', 1)).toBe('unknown');
      expect(report.drift?.rows ?? 0).toBeGreaterThan(0);
      expect(after).toBeLessThan(before * 1.1 + 2 * 2 ** 20);
    } finally {
      await model.close();
    }
  });
});
