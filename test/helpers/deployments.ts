/** Versions for deployment tests: real ONNX models in a local registry, plus wrappers that fail or lag. */
import { createLocalRegistry, loadModel, silentLogger, type LocalRegistry, type ServableModel } from 'modelship';
import { digitImage } from '../../examples/shared/mnist-data.js';
import { writeMlpClassifier } from '../../examples/shared/onnx-writer.js';
import { addOneModel, tempDir, tinyMnist } from './models.js';

/** MNIST with the class scores rotated by one: same signature, (almost) always a different answer. */
export function disagreeingMnist(): Uint8Array {
  const layers = tinyMnist().layers.map((l) => ({
    ...l,
    weights: Float32Array.from(l.weights),
    bias: Float32Array.from(l.bias),
  }));
  const last = layers[layers.length - 1]!;
  const { inputs, outputs } = last;
  const weights = new Float32Array(last.weights.length);
  const bias = new Float32Array(outputs);
  // Gemm weights are [inputs, outputs] row-major; output j takes what output j+1 had.
  for (let i = 0; i < inputs; i++)
    for (let j = 0; j < outputs; j++) weights[i * outputs + j] = last.weights[i * outputs + ((j + 1) % outputs)]!;
  for (let j = 0; j < outputs; j++) bias[j] = last.bias[(j + 1) % outputs]!;
  layers[layers.length - 1] = { ...last, weights, bias };
  return writeMlpClassifier({ layers, inputName: 'pixels', name: 'mnist_rotated' });
}

/**
 * A registry holding mnist/1 (production), mnist/2 (same weights), mnist/3 (disagreeing) and addone/1
 * (another signature).
 */
export async function deploymentRegistry(): Promise<LocalRegistry> {
  const registry = createLocalRegistry({ root: await tempDir('modelship-deploy-') });
  await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, aliases: ['production'] });
  await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, aliases: ['candidate'] });
  await registry.publish({ name: 'mnist', bytes: disagreeingMnist(), aliases: ['rotated'] });
  await registry.publish({ name: 'addone', bytes: addOneModel() });
  return registry;
}

/** Real test digits and their labels. */
export function digits(count: number): { images: number[][]; labels: number[] } {
  const { test } = tinyMnist();
  const images = Array.from({ length: count }, (_, i) => digitImage(test, i % test.count));
  const labels = Array.from({ length: count }, (_, i) => test.labels[i % test.count]!);
  return { images, labels };
}

/** Wraps a model so its `predict` is replaced. */
export function wrap(model: ServableModel, predict: ServableModel['predict']): ServableModel {
  return {
    name: model.name,
    version: model.version,
    signature: model.signature,
    platform: model.platform,
    metadata: model.metadata,
    get state() {
      return model.state;
    },
    predict,
    ready: () => model.ready(),
    close: () => model.close(),
  };
}

/** Fails (after really running) on digits the model classifies as even: some inputs fail, others do not. */
export function failingOnEven(model: ServableModel): ServableModel {
  return wrap(model, async (input, options) => {
    const out = await model.predict(input, options);
    if ((out.label!.data as BigInt64Array).some((l) => l % 2n === 0n)) throw new Error('candidate bug: even digit');
    return out;
  });
}

/** Answers correctly, `ms` later. */
export function lagging(model: ServableModel, ms: number): ServableModel {
  return wrap(model, async (input, options) => {
    await new Promise((r) => setTimeout(r, ms));
    return model.predict(input, options);
  });
}

/** Never answers (its promises stay pending). */
export function hanging(model: ServableModel): ServableModel {
  return wrap(model, () => new Promise(() => undefined));
}

/**
 * A loader for `createDeploymentWith`: loads from `registry` with one worker, then applies the wrapper
 * registered for the reference, if any.
 */
export function loaderWith(
  registry: LocalRegistry,
  wrappers: Record<string, (m: ServableModel) => ServableModel> = {},
) {
  return async (ref: string): Promise<ServableModel> => {
    const model = await loadModel(ref, { registry, workers: 1, logger: silentLogger });
    const w = wrappers[ref];
    return w ? w(model) : model;
  };
}
