/**
 * Runs before `next build` / `next dev`: trains the MNIST demo model with the project's own code (first run
 * only) into models/mnist.onnx (served by the route handler), copies it to public/ (for the in-browser page),
 * and picks a few held-out test digits for the pages to classify.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { digitImage, loadMnist } from '../../shared/mnist-data.js';
import { writeDemoModel } from '../../shared/write-model.js';

await writeDemoModel('models/mnist.onnx', (line) => console.log(line));
const { test } = loadMnist();
const samples = [0, 1, 2, 3, 4, 5].map((i) => ({
  label: test.labels[i] as number,
  pixels: digitImage(test, i).map((v) => Math.round(v * 1000) / 1000),
}));
await mkdir('public', { recursive: true });
await copyFile('models/mnist.onnx', 'public/mnist.onnx');
await writeFile('models/samples.json', JSON.stringify(samples));
await writeFile('public/samples.json', JSON.stringify(samples));
