/**
 * webpack 5 with no configuration beyond an entry: it follows onnxruntime-web's `new URL('….wasm',
 * import.meta.url)`, emits the .wasm files, and the bundle loads and runs a model in Chromium.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import webpack from 'webpack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, silentLogger } from 'modelship';
import { chromiumForTests, launchChromium } from '../helpers/browser.js';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { serveStatic, type StaticServer } from '../helpers/static-server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = `import { loadModel } from 'modelship/browser';
window.run = async (rows) => {
  const model = await loadModel('/mnist.onnx');
  return (await model.predict(rows)).label.toArray();
};
document.body.dataset.ready = 'true';`;

describe.skipIf(!chromiumForTests('the webpack browser test'))('modelship/browser bundled by webpack 5', () => {
  let server: StaticServer;
  let browser: Browser;
  let assets: string[];

  beforeAll(async () => {
    const dir = await tempDir('modelship-webpack-');
    const out = join(dir, 'dist');
    await writeFile(join(dir, 'entry.js'), ENTRY);
    const stats = await new Promise<webpack.Stats>((resolve, reject) =>
      webpack({
        mode: 'production',
        context: dir,
        entry: './entry.js',
        output: { path: out, publicPath: '/' },
        optimization: { minimize: false },
        performance: { hints: false },
        // modelship is linked from this repository, not installed: tell webpack where node_modules is.
        resolve: { modules: [join(root, 'node_modules')] },
      }).run((error, result) => (error || !result ? reject(error) : resolve(result))),
    );
    expect(stats.hasErrors(), stats.toString('errors-only')).toBe(false);
    assets = Object.keys(stats.compilation.assets);
    await writeFile(join(out, 'index.html'), '<!doctype html><body><script src="/main.js"></script></body>');
    await writeFile(join(out, 'mnist.onnx'), tinyMnist().onnx);
    server = await serveStatic({ '/': out });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('emits the .wasm files and runs the model with no copying and no wasmPaths', async () => {
    expect(assets.filter((a) => a.endsWith('.wasm'))).toHaveLength(2); // the WebAssembly build, and the WebGPU one
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready]', { state: 'attached' });
    const { test } = tinyMnist();
    const rows = [0, 1, 2].map((i) => Array.from(test.images.subarray(i * 784, (i + 1) * 784)));
    const labels = await page.evaluate((r) => (window as any).run(r), rows);
    await using node = await loadModel(tinyMnist().onnx, { logger: silentLogger });
    expect(labels).toEqual((await node.predict(rows)).label?.toArray());
    expect(server.requests.filter((p) => p.endsWith('.wasm'))).toHaveLength(1);
  });
});
