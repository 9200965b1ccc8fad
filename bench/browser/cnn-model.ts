/**
 * A small convolutional network for the browser bench, written with the project's ONNX writer: two 3×3
 * convolutions with ReLU, max-pooling, a dense layer and softmax on a 28×28 image. Seeded random weights:
 * what is measured is the runtime's work (≈ 1.2 ms per call in WebAssembly here), not accuracy.
 */
import { createRng } from '../../examples/shared/mnist-data.js';
import { writeOnnxModel } from '../../examples/shared/onnx-writer.js';

function weights(count: number, fanIn: number, rng: () => number): Float32Array {
  const scale = Math.sqrt(2 / fanIn);
  return Float32Array.from({ length: count }, () => (rng() * 2 - 1) * scale);
}

/** Input `image` [batch, 1, 28, 28] float32; output `probabilities` [batch, 10]. */
export function buildCnnModel(seed = 7): Uint8Array {
  const rng = createRng(seed);
  const c1 = 32;
  const c2 = 96;
  const flat = c2 * 12 * 12; // 28 → conv 26 → conv 24 → pool 12
  return writeOnnxModel({
    name: 'bench_cnn',
    inputs: [{ name: 'image', type: 'float32', shape: ['batch', 1, 28, 28] }],
    outputs: [{ name: 'probabilities', type: 'float32', shape: ['batch', 10] }],
    initializers: [
      { name: 'w1', dims: [c1, 1, 3, 3], data: weights(c1 * 9, 9, rng) },
      { name: 'b1', dims: [c1], data: new Float32Array(c1) },
      { name: 'w2', dims: [c2, c1, 3, 3], data: weights(c2 * c1 * 9, c1 * 9, rng) },
      { name: 'b2', dims: [c2], data: new Float32Array(c2) },
      { name: 'w3', dims: [flat, 10], data: weights(flat * 10, flat, rng) },
      { name: 'b3', dims: [10], data: new Float32Array(10) },
      { name: 'flat_shape', dims: [2], data: new BigInt64Array([0n, BigInt(flat)]) },
    ],
    nodes: [
      { op: 'Conv', inputs: ['image', 'w1', 'b1'], outputs: ['c1'], attributes: { kernel_shape: [3, 3] } },
      { op: 'Relu', inputs: ['c1'], outputs: ['r1'] },
      { op: 'Conv', inputs: ['r1', 'w2', 'b2'], outputs: ['c2'], attributes: { kernel_shape: [3, 3] } },
      { op: 'Relu', inputs: ['c2'], outputs: ['r2'] },
      { op: 'MaxPool', inputs: ['r2'], outputs: ['p'], attributes: { kernel_shape: [2, 2], strides: [2, 2] } },
      { op: 'Reshape', inputs: ['p', 'flat_shape'], outputs: ['f'] },
      { op: 'Gemm', inputs: ['f', 'w3', 'b3'], outputs: ['logits'] },
      { op: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attributes: { axis: 1 } },
    ],
  });
}
