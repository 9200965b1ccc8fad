import ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTinyMnistModel, type MnistModel } from '../../examples/shared/demo-model.js';
import { IMAGE_SIZE, digitImage } from '../../examples/shared/mnist-data.js';
import { evaluate } from '../../examples/shared/train.js';

const BATCH = 200;
const CLASSES = 10;

describe('MNIST example model, trained here and run by onnxruntime-node', () => {
  let model: MnistModel;
  let inputNames: readonly string[];
  let outputNames: readonly string[];
  let probabilities: Float32Array;
  let labels: number[];
  let dims: { probabilities: readonly number[]; label: readonly number[] };

  beforeAll(async () => {
    model = buildTinyMnistModel();
    const session = await ort.InferenceSession.create(model.onnx);
    try {
      inputNames = session.inputNames;
      outputNames = session.outputNames;
      const pixels = new ort.Tensor('float32', model.test.images.slice(0, BATCH * IMAGE_SIZE), [BATCH, IMAGE_SIZE]);
      const out = await session.run({ pixels });
      probabilities = out.probabilities!.data as Float32Array;
      labels = Array.from(out.label!.data as BigInt64Array, Number);
      dims = { probabilities: out.probabilities!.dims, label: out.label!.dims };
    } finally {
      await session.release();
    }
  });

  it('has the documented signature', () => {
    expect(inputNames).toEqual(['pixels']);
    expect(outputNames).toEqual(['probabilities', 'label']);
    expect(dims).toEqual({ probabilities: [BATCH, CLASSES], label: [BATCH] });
    expect(model.trainCount + model.testCount).toBe(10_000);
  });

  it('labels each row with the argmax of its probabilities', () => {
    for (let row = 0; row < BATCH; row++) {
      const p = Array.from(probabilities.subarray(row * CLASSES, (row + 1) * CLASSES));
      expect(labels[row], `row ${row}`).toBe(p.indexOf(Math.max(...p)));
    }
  });

  it('matches the plain-TypeScript forward pass', () => {
    const first = { ...model.test, images: model.test.images.subarray(0, BATCH * IMAGE_SIZE), count: BATCH };
    const reference = evaluate(model.layers, first);
    expect(labels).toEqual(Array.from(reference.predictions));
    for (let k = 0; k < BATCH * CLASSES; k++) {
      expect(Math.abs(probabilities[k]! - reference.probabilities[k]!)).toBeLessThan(1e-4);
    }
  });

  it('recognises real held-out digits', () => {
    const truth = Array.from(model.test.labels.subarray(0, BATCH));
    // The test split is shuffled, so the first 200 are a fair sample with every digit in them.
    expect(new Set(truth).size).toBe(CLASSES);
    const correct = labels.filter((label, i) => label === truth[i]).length;
    expect(correct / BATCH).toBeGreaterThanOrEqual(0.85);
    expect(model.accuracy).toBeGreaterThanOrEqual(0.85);
  });

  it('outputs probability rows that sum to 1', () => {
    for (let row = 0; row < BATCH; row++) {
      let sum = 0;
      for (let k = 0; k < CLASSES; k++) sum += probabilities[row * CLASSES + k]!;
      expect(Math.abs(sum - 1), `row ${row}`).toBeLessThanOrEqual(1e-5);
    }
  });

  it('is deterministic: the same seed gives byte-identical ONNX, another seed does not', () => {
    expect(Buffer.from(buildTinyMnistModel().onnx).equals(Buffer.from(model.onnx))).toBe(true);
    expect(Buffer.from(buildTinyMnistModel({ seed: 2 }).onnx).equals(Buffer.from(model.onnx))).toBe(false);
  });

  it('exposes digits as plain arrays for JSON bodies', () => {
    const image = digitImage(model.test, 0);
    expect(image).toHaveLength(IMAGE_SIZE);
    expect(image).toEqual(Array.from(model.test.images.subarray(0, IMAGE_SIZE)));
    expect(() => digitImage(model.test, model.testCount)).toThrow(RangeError);
  });
});
