import { createWorkerBackend, loadModel, ModelshipError, type DownloadProgress, type Model } from 'modelship/browser';
import { SIDE, toMnistPixels } from './preprocess.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const pad = $<HTMLCanvasElement>('pad');
const status = $('status');
const progress = $<HTMLProgressElement>('progress');
const label = $('label');
const bars = $('bars');
const ctx = pad.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;

function showProgress({ loaded, total, cached }: DownloadProgress): void {
  if (cached) {
    status.textContent = `Model loaded from the cache (${(loaded / 1024).toFixed(1)} KB, no download).`;
    progress.value = 1;
    return;
  }
  const kb = (n: number): string => `${(n / 1024).toFixed(1)} KB`;
  status.textContent = total
    ? `Downloading the model: ${kb(loaded)} of ${kb(total)}`
    : `Downloading the model: ${kb(loaded)}`;
  progress.value = total ? loaded / total : 0;
}

const rows = Array.from({ length: 10 }, (_, digit) => {
  const row = document.createElement('div');
  row.className = 'bar';
  row.innerHTML = `<span>${digit}</span><span><i></i></span><span>0.0%</span>`;
  bars.append(row);
  return { row, fill: row.querySelector('i') as HTMLElement, text: row.lastElementChild as HTMLElement };
});

function showPrediction(probabilities: ArrayLike<number>, best: number, strokes: number): void {
  rows.forEach(({ row, fill, text }, digit) => {
    const p = probabilities[digit] ?? 0;
    fill.style.width = `${(p * 100).toFixed(1)}%`;
    text.textContent = `${(p * 100).toFixed(1)}%`;
    row.classList.toggle('top', digit === best);
  });
  label.textContent = String(best);
  label.dataset.strokes = String(strokes);
}

// --- the model -------------------------------------------------------------------------------------------
// The manifest pins the model's sha256: the file is verified, and a reload finds it in the Cache API
// without asking the network. `?worker=0` runs inference on the main thread instead of a Web Worker.
const useWorker = new URLSearchParams(location.search).get('worker') !== '0';
let model: Model;

async function start(): Promise<void> {
  const manifest = (await (await fetch('./mnist.json', { cache: 'no-cache' })).json()) as {
    sha256: string;
    accuracy: number;
  };
  const backend = useWorker
    ? createWorkerBackend(new Worker(new URL('./inference.worker.ts', import.meta.url), { type: 'module' }))
    : undefined;
  model = await loadModel('./mnist.onnx', {
    sha256: manifest.sha256,
    onProgress: showProgress,
    ...(backend ? { backend } : {}),
  });
  await model.ready();
  status.textContent += ` Ready (${useWorker ? 'Web Worker' : 'main thread'}, ${crossOriginIsolated ? 'multithreaded' : 'single-threaded'} WebAssembly, test accuracy ${(manifest.accuracy * 100).toFixed(1)}%): draw a digit.`;
  document.body.dataset.ready = 'true';
}

/** Runs the model on rows of 784 pixels; also what the browser tests call (`window.demo.predict`). */
async function predict(pixels: ArrayLike<number>[]): Promise<{ probabilities: number[][]; labels: number[] }> {
  const out = await model.predict({ pixels: pixels.map((row) => Array.from(row)) });
  return {
    probabilities: out.probabilities?.toArray() as number[][],
    labels: (out.label?.toArray() as bigint[] | number[]).map(Number),
  };
}

// --- drawing ---------------------------------------------------------------------------------------------
let strokes = 0;
let drawing = false;

function clear(): void {
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, pad.width, pad.height);
  strokes = 0;
  label.textContent = '–';
  label.dataset.strokes = '0';
  rows.forEach(({ row, fill, text }) => {
    fill.style.width = '0';
    text.textContent = '0.0%';
    row.classList.remove('top');
  });
}

function point(e: PointerEvent): [number, number] {
  const r = pad.getBoundingClientRect();
  return [((e.clientX - r.left) * pad.width) / r.width, ((e.clientY - r.top) * pad.height) / r.height];
}

/** The drawing as MNIST pixels: ink intensity from the red channel (white on black). */
function currentPixels(): Float32Array {
  const { data, width, height } = ctx.getImageData(0, 0, pad.width, pad.height);
  const ink = new Float32Array(width * height);
  for (let i = 0; i < ink.length; i++) ink[i] = (data[i * 4] as number) / 255;
  return toMnistPixels(ink, width, height);
}

async function classify(): Promise<void> {
  const seen = strokes;
  const { probabilities, labels } = await predict([currentPixels()]);
  if (seen === strokes) showPrediction(probabilities[0] as number[], labels[0] as number, seen);
}

pad.addEventListener('pointerdown', (e) => {
  if (!model) return;
  drawing = true;
  pad.setPointerCapture(e.pointerId);
  const [x, y] = point(e);
  ctx.beginPath();
  ctx.moveTo(x, y);
  ctx.lineTo(x, y);
  ctx.stroke();
});
pad.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  const [x, y] = point(e);
  ctx.lineTo(x, y);
  ctx.stroke();
});
pad.addEventListener('pointerup', () => {
  if (!drawing) return;
  drawing = false;
  strokes++;
  classify().catch(fail);
});
$('clear').addEventListener('click', clear);

function fail(error: unknown): void {
  status.textContent = ModelshipError.isInstance(error)
    ? `Error ${error.code}: ${error.message}`
    : `Error: ${String(error)}`;
  document.body.dataset.error = ModelshipError.isInstance(error) ? error.code : 'UNKNOWN';
}

clear();
ctx.strokeStyle = '#fff';
ctx.lineWidth = 18;
ctx.lineCap = 'round';
ctx.lineJoin = 'round';
Object.assign(window, { demo: { predict, pixels: currentPixels, side: SIDE } });
start().catch(fail);
