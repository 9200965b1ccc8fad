/**
 * Mini-batch SGD for softmax regression and one-hidden-layer ReLU MLPs, in plain TypeScript so the examples
 * need no ML framework. Weights come out in the layout `writeMlpClassifier` expects, and `evaluate` repeats
 * the ONNX graph's math (Gemm, Relu, Softmax, ArgMax) so runtime outputs can be checked against it.
 */
import { createRng, shuffle, type Dataset } from './mnist-data.js';
import type { DenseLayer } from './onnx-writer.js';

/** Options for {@link trainSoftmaxRegression}. */
export interface TrainOptions {
  epochs?: number;
  learningRate?: number;
  batchSize?: number;
  seed?: number;
  /** L2 weight decay, applied to weights (not biases) once per batch. */
  l2?: number;
  /** Hidden ReLU units; when set, trains a one-hidden-layer MLP instead of softmax regression. */
  hidden?: number;
  /** Called after every epoch with the mean training cross-entropy and the epoch's wall time. */
  onEpoch?: (info: { epoch: number; loss: number; seconds: number }) => void;
}

function denseLayer(inputs: number, outputs: number): DenseLayer {
  return { weights: new Float32Array(inputs * outputs), bias: new Float32Array(outputs), inputs, outputs };
}

/** out = bias + x·W. Skips zero inputs: ~80% of MNIST pixels and about half the ReLU outputs are zero. */
function denseForward(layer: DenseLayer, x: Float32Array, xOffset: number, out: Float32Array): void {
  const { weights: w, inputs, outputs } = layer;
  out.set(layer.bias);
  for (let i = 0; i < inputs; i++) {
    const v = x[xOffset + i] as number;
    if (v === 0) continue;
    const row = i * outputs;
    for (let o = 0; o < outputs; o++) out[o] = (out[o] as number) + v * (w[row + o] as number);
  }
}

/** Softmax in place, shifted by the max so large logits cannot overflow. Returns the argmax (first wins ties). */
function softmax(z: Float32Array): number {
  let best = 0;
  for (let k = 1; k < z.length; k++) if ((z[k] as number) > (z[best] as number)) best = k;
  const max = z[best] as number;
  let sum = 0;
  for (let k = 0; k < z.length; k++) {
    const e = Math.exp((z[k] as number) - max);
    z[k] = e;
    sum += e;
  }
  for (let k = 0; k < z.length; k++) z[k] = (z[k] as number) / sum;
  return best;
}

/** grad.weights += x^T · delta and grad.bias += delta, for one sample. */
function accumulate(grad: DenseLayer, x: Float32Array, xOffset: number, delta: Float32Array): void {
  const { weights: g, inputs, outputs } = grad;
  for (let o = 0; o < outputs; o++) grad.bias[o] = (grad.bias[o] as number) + (delta[o] as number);
  for (let i = 0; i < inputs; i++) {
    const v = x[xOffset + i] as number;
    if (v === 0) continue;
    const row = i * outputs;
    for (let o = 0; o < outputs; o++) g[row + o] = (g[row + o] as number) + v * (delta[o] as number);
  }
}

/** He-normal init (Box-Muller over the seeded PRNG) so ReLU layers start with unit-scale activations. */
function heInit(layer: DenseLayer, rng: () => number): void {
  const std = Math.sqrt(2 / layer.inputs);
  for (let i = 0; i < layer.weights.length; i++) {
    const u = 1 - rng(); // (0, 1], keeps log() finite
    layer.weights[i] = std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  }
}

/**
 * Trains softmax regression (784 → 10), or a one-hidden-layer ReLU MLP when `hidden` is set, with plain
 * mini-batch SGD on softmax cross-entropy. Deterministic: the same data and options give bit-identical weights.
 *
 * @example
 * const { train, test } = loadMnist();
 * const { layers } = trainSoftmaxRegression(train, { epochs: 8 });
 * console.log(evaluate(layers, test).accuracy); // ~0.9
 */
export function trainSoftmaxRegression(train: Dataset, options: TrainOptions = {}): { layers: DenseLayer[] } {
  const { epochs = 8, learningRate = 0.5, batchSize = 64, seed = 1, l2 = 1e-4, hidden, onEpoch } = options;
  const inputs = train.images.length / train.count;
  let classes = 0;
  for (const label of train.labels) classes = Math.max(classes, label + 1);
  const rng = createRng(seed);
  const widths = hidden ? [inputs, hidden, classes] : [inputs, classes];
  const layers = widths.slice(1).map((outputs, i) => denseLayer(widths[i]!, outputs));
  // Softmax regression is convex, so zeros are a fine start; an MLP needs random weights to break symmetry.
  if (hidden) layers.forEach((layer) => heInit(layer, rng));
  const grads = layers.map((l) => denseLayer(l.inputs, l.outputs));
  // acts[0] is the network input (bound per sample), acts[i + 1] is layer i's output; deltas mirror them.
  const acts = widths.map((w) => new Float32Array(w));
  const deltas = widths.map((w) => new Float32Array(w));
  const order = Uint32Array.from({ length: train.count }, (_, i) => i);
  const last = layers.length - 1;

  for (let epoch = 1; epoch <= epochs; epoch++) {
    const started = performance.now();
    shuffle(order, rng);
    let lossSum = 0;
    for (let start = 0; start < train.count; start += batchSize) {
      const end = Math.min(start + batchSize, train.count);
      for (const g of grads) {
        g.weights.fill(0);
        g.bias.fill(0);
      }
      for (let n = start; n < end; n++) {
        const sample = order[n] as number;
        const xOffset = sample * inputs;
        // Forward: layer 0 reads straight from the image buffer, later layers from acts[i].
        for (let i = 0; i <= last; i++) {
          const out = acts[i + 1]!;
          denseForward(layers[i]!, i === 0 ? train.images : acts[i]!, i === 0 ? xOffset : 0, out);
          if (i < last) for (let k = 0; k < out.length; k++) if ((out[k] as number) < 0) out[k] = 0;
        }
        const probs = acts[last + 1]!;
        softmax(probs);
        const label = train.labels[sample] as number;
        lossSum -= Math.log(Math.max(probs[label] as number, 1e-12));
        // Backward: d(cross-entropy)/d(logits) = probs - onehot.
        const top = deltas[last + 1]!;
        top.set(probs);
        top[label] = (top[label] as number) - 1;
        for (let i = last; i >= 0; i--) {
          const layer = layers[i]!;
          const delta = deltas[i + 1]!;
          accumulate(grads[i]!, i === 0 ? train.images : acts[i]!, i === 0 ? xOffset : 0, delta);
          if (i === 0) break;
          // Propagate to the previous layer's ReLU output; its derivative is 0 wherever the unit was off.
          const below = deltas[i]!;
          const act = acts[i]!;
          const { weights: w, outputs } = layer;
          for (let j = 0; j < layer.inputs; j++) {
            if ((act[j] as number) === 0) {
              below[j] = 0;
              continue;
            }
            let s = 0;
            const row = j * outputs;
            for (let o = 0; o < outputs; o++) s += (w[row + o] as number) * (delta[o] as number);
            below[j] = s;
          }
        }
      }
      const step = learningRate / (end - start);
      const decay = 1 - learningRate * l2;
      layers.forEach((layer, i) => {
        const g = grads[i]!;
        const { weights: w, bias: b } = layer;
        for (let k = 0; k < w.length; k++) w[k] = (w[k] as number) * decay - step * (g.weights[k] as number);
        for (let k = 0; k < b.length; k++) b[k] = (b[k] as number) - step * (g.bias[k] as number);
      });
    }
    onEpoch?.({ epoch, loss: lossSum / train.count, seconds: (performance.now() - started) / 1000 });
  }
  return { layers };
}

/** Same as {@link trainSoftmaxRegression} with `hidden` required: a 784 → hidden (ReLU) → 10 MLP. */
export function trainMlp(train: Dataset, options: TrainOptions & { hidden: number }): { layers: DenseLayer[] } {
  return trainSoftmaxRegression(train, options);
}

/**
 * Runs `layers` over a dataset the way the ONNX graph does (Gemm, Relu between layers, Softmax, ArgMax with
 * the first index winning ties) and returns accuracy, predicted labels and row-major `[count, classes]`
 * float32 probabilities, for cross-checking runtime outputs.
 */
export function evaluate(
  layers: DenseLayer[],
  dataset: Dataset,
): { accuracy: number; predictions: Uint8Array; probabilities: Float32Array } {
  const first = layers[0];
  const classes = layers[layers.length - 1]?.outputs;
  if (!first || classes === undefined) throw new Error('evaluate needs at least one layer');
  const predictions = new Uint8Array(dataset.count);
  const probabilities = new Float32Array(dataset.count * classes);
  const acts = [first.inputs, ...layers.map((l) => l.outputs)].map((w) => new Float32Array(w));
  let correct = 0;
  for (let n = 0; n < dataset.count; n++) {
    layers.forEach((layer, i) => {
      const out = acts[i + 1]!;
      denseForward(layer, i === 0 ? dataset.images : acts[i]!, i === 0 ? n * first.inputs : 0, out);
      if (i < layers.length - 1) for (let k = 0; k < out.length; k++) if ((out[k] as number) < 0) out[k] = 0;
    });
    const probs = acts[layers.length]!;
    softmax(probs);
    // ArgMax runs on the float32 probabilities in the graph, so pick the label after rounding, not from logits.
    let best = 0;
    for (let k = 1; k < classes; k++) if ((probs[k] as number) > (probs[best] as number)) best = k;
    predictions[n] = best;
    probabilities.set(probs, n * classes);
    if (best === dataset.labels[n]) correct++;
  }
  return { accuracy: dataset.count ? correct / dataset.count : 0, predictions, probabilities };
}
