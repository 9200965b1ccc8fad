/**
 * Drift and live accuracy on real MNIST, served by onnxruntime-node: a baseline from the training split, then
 * the test split (no drift), brighter digits and digits with permuted pixels (drift on the expected features
 * within N = 200 requests), and labels fed back for the test split (the known accuracy).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBaseline, loadModel, silentLogger, type Baseline, type Model } from 'modelship';
import { createRng, loadMnist, shuffle } from '../../examples/shared/mnist-data.js';
import { evaluate } from '../../examples/shared/train.js';
import { tempFile, tinyMnist } from '../helpers/models.js';
import { disagreeingMnist } from '../helpers/deployments.js';

/** Requests after which drift must show (sampleRate 1, one row per request). */
const N = 200;
const ROW = 784;

let path: string;
let baseline: Baseline;
let test: { images: Float32Array; labels: ArrayLike<number>; count: number };

function rowOf(i: number): Float32Array {
  return test.images.slice(i * ROW, (i + 1) * ROW);
}

async function monitored(options: Record<string, unknown> = {}): Promise<Model> {
  return loadModel(path, {
    workers: 1,
    logger: silentLogger,
    monitoring: {
      baseline,
      sampleRate: 1,
      maxSamplesPerSecond: 1_000_000,
      interval: 0,
      maxSamples: 1_000_000,
      ...options,
    },
  });
}

/** `count` one-digit requests, 500 at a time (the queue holds 1024). */
async function serve(model: Model, count: number, image: (i: number) => Float32Array, ids = false): Promise<void> {
  for (let start = 0; start < count; start += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, count - start) }, (_, k) => {
        const i = start + k;
        const pixels = { dtype: 'float32' as const, shape: [1, ROW], data: image(i) };
        return model.predict({ pixels }, ids ? { requestId: `r${i}` } : {});
      }),
    );
  }
}

beforeAll(async () => {
  const mnist = tinyMnist();
  path = await tempFile(mnist.onnx, 'mnist.onnx');
  test = { images: mnist.test.images, labels: mnist.test.labels, count: mnist.test.count };
  // The baseline: 4000 digits of the training split, with the model's own outputs for them.
  const { train } = loadMnist({ seed: 1 });
  const rows = 4000;
  const pixels = { dtype: 'float32' as const, shape: [rows, ROW], data: train.images.slice(0, rows * ROW) };
  const plain = await loadModel(path, { workers: 1, logger: silentLogger });
  const outputs = await plain.predict({ pixels });
  await plain.close();
  baseline = createBaseline({ inputs: { pixels }, outputs }, { signature: plain.signature });
});

describe('a baseline from the MNIST training split', () => {
  it('summarises each pixel, the row and the outputs, and survives JSON', () => {
    const names = baseline.numeric.map((f) => f.name);
    expect(names).toContain('pixels[0]');
    expect(names).toContain('pixels[783]');
    expect(names).toEqual(expect.arrayContaining(['pixels.mean', 'pixels.std', 'pixels.proj0', 'probabilities[9]']));
    expect(baseline.categorical.map((f) => f.name)).toEqual(['probabilities.class', 'label']);
    // A border pixel is always 0 in training: one edge, everything in the first bin.
    const corner = baseline.numeric.find((f) => f.name === 'pixels[0]')!;
    expect(corner.edges).toEqual([0]);
    expect(corner.counts).toEqual([4000, 0]);
    expect(baseline.rows).toBe(4000);
    expect(JSON.parse(JSON.stringify(baseline))).toEqual(baseline);
  });
});

describe('online drift', () => {
  let model: Model;
  beforeAll(async () => {
    model = await monitored();
  });
  afterAll(() => model.close());

  it(`shows no drift on ${N} digits of the test split`, async () => {
    await serve(model, N, rowOf);
    const report = model.monitoring!.evaluate()!;
    expect(report.rows).toBe(N);
    expect(report.drifted).toBe(0);
    expect(report.features[0]!.score).toBeLessThan(0.2);
  });

  it(`flags brighter digits on the row mean and most pixels within ${N} requests`, async () => {
    await serve(model, N, (i) => rowOf(i).map((v) => Math.min(1, v + 0.3)));
    const report = model.monitoring!.evaluate()!;
    const drifted = new Set(report.features.filter((f) => f.drifted).map((f) => f.feature));
    expect(drifted.has('pixels.mean')).toBe(true);
    expect(drifted.has('pixels[0]')).toBe(true);
    expect(report.share).toBeGreaterThan(0.5);
  });

  it(`flags permuted pixels on the pixels and projections, not the row mean, within ${N} requests`, async () => {
    const order = shuffle(
      Array.from({ length: ROW }, (_, j) => j),
      createRng(7),
    );
    await serve(model, N, (i) => {
      const row = rowOf(i);
      return Float32Array.from(order, (j) => row[j]!);
    });
    const report = model.monitoring!.evaluate()!;
    const byName = new Map(report.features.map((f) => [f.feature, f]));
    expect(byName.get('pixels.mean')!.drifted).toBe(false);
    expect(byName.get('pixels.std')!.drifted).toBe(false);
    expect(report.features.filter((f) => f.drifted && /^pixels\[\d+\]$/.test(f.feature)).length).toBeGreaterThan(100);
    expect(['pixels.proj0', 'pixels.proj1', 'pixels.proj2', 'pixels.proj3'].some((p) => byName.get(p)!.drifted)).toBe(
      true,
    );
  });
});

describe('reference-free drift between two versions', () => {
  it('finds a canary whose classes are permuted, on its answers and not its inputs, without labels', async () => {
    const stable = await monitored();
    const canary = await loadModel(disagreeingMnist(), {
      name: 'mnist',
      version: 'canary',
      workers: 1,
      logger: silentLogger,
      monitoring: { baseline, sampleRate: 1, maxSamplesPerSecond: 1_000_000, interval: 0, maxSamples: 1_000_000 },
    });
    try {
      await serve(stable, N, rowOf);
      await serve(canary, N, (i) => rowOf(N + i));
      stable.monitoring!.evaluate();
      canary.monitoring!.evaluate();
      const report = canary.monitoring!.compareWith(stable.monitoring!)!;
      expect(report.reference).toBe('stable');
      const byName = new Map(report.features.map((f) => [f.feature, f]));
      expect(byName.get('probabilities.class')!.drifted).toBe(true);
      expect(byName.get('label')!.drifted).toBe(true);
      expect(byName.get('pixels.mean')!.drifted).toBe(false);
      // Two live windows of 200 digits each (no 4000-row reference): a few sparse pixels differ by chance.
      expect(report.features.filter((f) => f.drifted && f.feature.startsWith('pixels')).length).toBeLessThan(10);
    } finally {
      await Promise.all([stable.close(), canary.close()]);
    }
  });
});

describe('live accuracy from delayed labels', () => {
  it('gives the known accuracy on the test split, and counts unknown, duplicate and invalid labels', async () => {
    const model = await monitored({ sampleRate: 0, feedback: { accuracyWindow: 10_000 } });
    try {
      await serve(model, test.count, rowOf, true);
      // Labels arrive later, in another order.
      const order = shuffle(
        Array.from({ length: test.count }, (_, i) => i),
        createRng(3),
      );
      for (const i of order) expect(model.feedback(`r${i}`, test.labels[i]!)).toBe('joined');
      const known = evaluate(tinyMnist().layers, tinyMnist().test).accuracy;
      const report = model.monitoring!.report();
      expect(report.live.labelled).toBe(test.count);
      expect(Math.abs(report.live.accuracy! - known)).toBeLessThanOrEqual(0.005);
      expect(report.labelledShare).toBe(1);
      expect(report.pending).toBe(0);
      expect(model.feedback('r0', 1)).toBe('duplicate');
      expect(model.feedback('never-sent', 1)).toBe('unknown');
      expect(model.feedback('r1', 1.5)).toBe('invalid');
      expect(model.feedback('r1', Number.NaN)).toBe('invalid');
    } finally {
      await model.close();
    }
  });

  it('refuses feedback on a model loaded without monitoring', async () => {
    const model = await loadModel(path, { workers: 1, logger: silentLogger });
    try {
      expect(() => model.feedback('r0', 1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    } finally {
      await model.close();
    }
  });
});
