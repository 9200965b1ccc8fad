/**
 * `npm run bench:browser`: modelship-web against raw onnxruntime-web, in one real Chromium session, on a page
 * served with COOP/COEP (cross-origin isolated, so `performance.now()` is fine-grained: without isolation it
 * steps in 0.1 ms and a 20 µs call reads as 0).
 *
 * (a) a small CNN (≈ 1.2 ms per call): per call, target ≤ 1.1× raw.
 * (b) the MNIST demo model (softmax regression, ≈ 13 µs per call): time per call over blocks of 100 calls,
 *     target ≤ 20 µs of overhead per call.
 *
 * The sides alternate round by round; results are paired medians (median over rounds of modelship − raw, or
 * modelship / raw, measured back to back), with an A/A control (raw vs a second raw session) for the noise.
 *
 * Flags: --quick (fewer rounds). Writes bench/results-browser.json. Needs Chromium (apt-get install chromium).
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildMnistModel } from '../examples/shared/demo-model.js';
import { findChromium, launchChromium } from '../test/helpers/browser.js';
import { tempDir } from '../test/helpers/models.js';
import { ISOLATION_HEADERS, serveStatic } from '../test/helpers/static-server.js';
import { buildCnnModel } from './browser/cnn-model.js';
import type { BenchResult } from './browser/page.js';

const quick = process.argv.includes('--quick');
const root = fileURLToPath(new URL('..', import.meta.url));

async function main(): Promise<void> {
  if (!findChromium())
    throw new Error('bench:browser needs Chromium: apt-get install -y chromium (or set CHROMIUM_PATH).');
  console.log(`modelship bench:browser${quick ? ' (--quick)' : ''}`);
  const dir = await tempDir('modelship-bench-');
  const mnist = buildMnistModel({ seed: 1 });
  await writeFile(join(dir, 'mnist.onnx'), mnist.onnx);
  await writeFile(join(dir, 'cnn.onnx'), buildCnnModel());
  await writeFile(
    join(dir, 'index.html'),
    '<!doctype html><html><head><link rel="icon" href="data:,"></head><body><script type="module" src="/page.js"></script></body></html>',
  );
  await build({
    entryPoints: [fileURLToPath(new URL('./browser/page.ts', import.meta.url))],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    outdir: dir,
    logLevel: 'silent',
    tsconfig: join(root, 'tsconfig.json'), // modelship/browser → src/browser.ts
  });
  // onnxruntime-web's chunk looks for its .wasm next to itself; both sides use that one module and file.
  await copyFile(
    join(root, 'node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm'),
    join(dir, 'ort-wasm-simd-threaded.wasm'),
  );
  const server = await serveStatic({ '/': dir }, ISOLATION_HEADERS);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready]', { state: 'attached' });
    console.log('  running in Chromium (this takes a minute)…');
    const r = await page.evaluate(
      (q) => (window as unknown as { bench(quick: boolean): Promise<BenchResult> }).bench(q),
      quick,
    );
    const us = (ms: number): string => (ms * 1000).toFixed(1);
    // Paired estimates: the median over rounds of (modelship block − raw block), measured back to back.
    const cnnRatio = r.cnn.ratio.p50;
    const overhead = r.mnist.diffMs.p50 * 1000;
    const results = {
      cnn_p50_ratio: cnnRatio,
      cnn_target_ratio: 1.1,
      mnist_overhead_us_per_call: overhead,
      mnist_target_overhead_us: 20,
      control_cnn_raw_vs_raw_ratio: r.cnn.control.ratio.p50,
      control_mnist_raw_vs_raw_us: r.mnist.control.diffMs.p50 * 1000,
    };
    console.log(
      `\n  ${r.userAgent}\n  onnxruntime-web ${r.ort}, crossOriginIsolated ${r.isolated}, WebAssembly threads: ${r.threads}\n`,
    );
    console.log('case                                     raw p50      modelship p50  paired median (round by round)');
    console.log(
      `(a) CNN, per call (µs)                   ${us(r.cnn.raw.p50).padEnd(13)}${us(r.cnn.modelship.p50).padEnd(15)}${cnnRatio.toFixed(3)}× raw (target ≤ 1.1×) ${cnnRatio <= 1.1 ? 'PASS' : 'FAIL'}`,
    );
    console.log(
      `(b) MNIST, per call, blocks of 100 (µs)  ${us(r.mnist.raw.p50).padEnd(13)}${us(r.mnist.modelship.p50).padEnd(15)}+${overhead.toFixed(1)} µs/call (target ≤ 20) ${overhead <= 20 ? 'PASS' : 'FAIL'}`,
    );
    console.log(
      `    A/A control, raw vs a second raw session: CNN ${results.control_cnn_raw_vs_raw_ratio.toFixed(3)}×, MNIST ${results.control_mnist_raw_vs_raw_us.toFixed(1)} µs/call`,
    );
    console.log(
      `    fastest blocks: MNIST raw ${us(r.mnist.raw.min)} µs, modelship ${us(r.mnist.modelship.min)} µs per call`,
    );
    console.log(
      `\n  session creation: raw ${r.cnn.rawCreateMs.toFixed(0)} ms (the first, which also compiles the WebAssembly), then ${r.mnist.rawCreateMs.toFixed(0)} ms; loadModel (fetch, sha256, session) ${r.cnn.loadModelMs.toFixed(0)} / ${r.mnist.loadModelMs.toFixed(0)} ms`,
    );
    console.log(`  raw onnxruntime-web, 8 overlapping run() calls on one session: ${r.overlapping}`);
    const file = join(root, 'bench', 'results-browser.json');
    await mkdir(join(root, 'bench'), { recursive: true });
    await writeFile(file, `${JSON.stringify({ quick, results, details: r }, null, 2)}\n`);
    console.log(`\nwrote ${file}`);
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
