/** Models the bench builds itself with the project's ONNX writer (fixed seed, so every run uses the same bytes). */
import { writeMlpClassifier, type DenseLayer } from '../examples/shared/onnx-writer.js';
import { createRng, IMAGE_SIZE, loadMnist, digitImage } from '../examples/shared/mnist-data.js';

export interface BenchModel {
  readonly name: string;
  readonly onnx: Uint8Array;
  readonly inputName: string;
  readonly features: number;
  /** One realistic input row. */
  readonly row: Float32Array;
}

function dense(inputs: number, outputs: number, rng: () => number): DenseLayer {
  const scale = Math.sqrt(2 / inputs); // He initialisation: activations keep a sane range through ReLU
  const weights = new Float32Array(inputs * outputs);
  for (let i = 0; i < weights.length; i++) weights[i] = (rng() * 2 - 1) * scale;
  return { weights, bias: new Float32Array(outputs), inputs, outputs };
}

function mlp(name: string, sizes: readonly number[], seed: number, row: Float32Array): BenchModel {
  const rng = createRng(seed);
  const layers = sizes.slice(1).map((out, i) => dense(sizes[i] as number, out, rng));
  return {
    name,
    onnx: writeMlpClassifier({ layers, inputName: 'input', name }),
    inputName: 'input',
    features: sizes[0] as number,
    row,
  };
}

/** 32 → 64 → 2: so small that per-call overhead is everything. */
export function tinyMlp(): BenchModel {
  const rng = createRng(7);
  return mlp(
    'tiny_mlp',
    [32, 64, 2],
    1,
    Float32Array.from({ length: 32 }, () => rng()),
  );
}

/** 784 → 512 → 10, fed a real MNIST test digit. */
export function mnistMlp(): BenchModel {
  const { test } = loadMnist({ seed: 1 });
  return mlp('mnist_mlp', [IMAGE_SIZE, 512, 10], 2, Float32Array.from(digitImage(test, 0)));
}
