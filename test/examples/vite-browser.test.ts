/**
 * examples/vite-browser in real Chromium: build it with Vite, serve the build, load the model (in the
 * example's Web Worker), compare predictions on real MNIST test digits with the Node build's, reload and see
 * no request for the model, draw a digit with the mouse and read the prediction off the page.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, silentLogger, type Model } from 'modelship';
import { digitImage, IMAGE_SIZE, loadMnist, type Dataset } from '../../examples/shared/mnist-data.js';
import { chromiumForTests, launchChromium } from '../helpers/browser.js';
import { runCommand } from '../helpers/run.js';
import { ISOLATION_HEADERS, serveStatic, type StaticServer } from '../helpers/static-server.js';

const example = fileURLToPath(new URL('../../examples/vite-browser/', import.meta.url));
const results = fileURLToPath(new URL('../../test-results/', import.meta.url));
const chromium = chromiumForTests('the vite-browser example test');

/** Traces a 28 × 28 digit onto the 280 × 280 pad: one mouse stroke per run of ink in each pixel row. */
async function traceDigit(page: Page, pixels: number[]): Promise<number> {
  const box = await page.locator('#pad').boundingBox();
  if (!box) throw new Error('no drawing pad');
  const scale = box.width / 28;
  const at = (i: number): number => i * scale + scale / 2;
  let strokes = 0;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      if ((pixels[y * 28 + x] as number) < 0.5) continue;
      let end = x;
      while (end + 1 < 28 && (pixels[y * 28 + end + 1] as number) >= 0.5) end++;
      await page.mouse.move(box.x + at(x), box.y + at(y));
      await page.mouse.down();
      await page.mouse.move(box.x + at(end), box.y + at(y), { steps: Math.max(1, end - x) });
      await page.mouse.up();
      strokes++;
      x = end;
    }
  }
  return strokes;
}

describe.skipIf(!chromium)('examples/vite-browser in Chromium', () => {
  let server: StaticServer;
  let browser: Browser;
  let page: Page;
  let nodeModel: Model;
  let test: Dataset;
  const pageErrors: string[] = [];
  const warnings: string[] = [];

  beforeAll(async () => {
    await runCommand('npm', ['run', 'build'], { cwd: example });
    // Served like `vite preview` serves it: with the cross-origin isolation headers from vite.config.ts.
    server = await serveStatic({ '/': `${example}dist` }, ISOLATION_HEADERS);
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'warning' || m.type() === 'error') warnings.push(m.text());
    });
    nodeModel = await loadModel(new Uint8Array(await readFile(`${example}dist/mnist.onnx`)), { logger: silentLogger });
    test = loadMnist().test;
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await nodeModel?.close();
  });

  it('downloads the model with progress and runs it in a Web Worker with threads', async () => {
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready], body[data-error]');
    const status = await page.textContent('#status');
    expect(status).toMatch(
      /Downloading the model: 31\.\d KB of 31\.\d KB Ready \(Web Worker, multithreaded WebAssembly/,
    );
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(server.requests.filter((p) => p === '/mnist.onnx')).toHaveLength(1);
    expect(pageErrors).toEqual([]);
    // Isolated page: no single-thread warning.
    expect(warnings.filter((w) => w.includes('single-threaded'))).toEqual([]);
  });

  it('gives the same probabilities as the Node build for real MNIST test digits (1e-5)', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => digitImage(test, i));
    const web = await page.evaluate((r) => (window as any).demo.predict(r), rows);
    const node = await nodeModel.predict({ pixels: rows });
    const expected = node.probabilities?.toArray() as number[][];
    expect(web.labels).toEqual(node.label?.toArray());
    for (let i = 0; i < rows.length; i++) {
      for (let k = 0; k < 10; k++)
        expect(Math.abs((web.probabilities[i][k] as number) - (expected[i]?.[k] as number))).toBeLessThanOrEqual(1e-5);
    }
    // The model is the real one: most of these held-out digits are right.
    const correct = web.labels.filter((l: number, i: number) => l === test.labels[i]).length;
    expect(correct).toBeGreaterThanOrEqual(10);
  });

  it('makes no request for the model after a reload (Cache API, verified by sha256)', async () => {
    const before = server.requests.length;
    await page.reload();
    await page.waitForSelector('body[data-ready], body[data-error]');
    const after = server.requests.slice(before);
    expect(after).toContain('/mnist.json');
    expect(after).not.toContain('/mnist.onnx');
    expect(await page.textContent('#status')).toContain('Model loaded from the cache');
  });

  it('reads a digit drawn on the canvas with the mouse', async () => {
    // A held-out 3, traced stroke by stroke at 10x scale.
    const index = test.labels.indexOf(3);
    const pixels = Array.from(test.images.subarray(index * IMAGE_SIZE, (index + 1) * IMAGE_SIZE));
    const strokes = await traceDigit(page, pixels);
    await page.waitForSelector(`#label[data-strokes="${strokes}"]`);
    expect(await page.textContent('#label')).toBe('3');
    const bars = await page.locator('.bar.top span').first().textContent();
    expect(bars).toBe('3');
    await mkdir(results, { recursive: true });
    await page.screenshot({ path: `${results}vite-browser.png`, fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
