/**
 * Checks the package as users get it: built with tsup, linted with publint, resolved through its `exports`
 * by Node (node condition) and by a browser bundler (browser condition, where no node: module may appear).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { publint } from 'publint';
import { describe, expect, it } from 'vitest';
import { writeOnnxModel } from '../../examples/shared/onnx-writer.js';
import { tempFile } from '../helpers/models.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

// dist/ is built by test/global-setup.ts, once per run, so no test rebuilds it while another reads it.
describe('the built package', () => {
  it('passes publint in strict mode', async () => {
    const { messages } = await publint({ pkgDir: root, strict: true, pack: false });
    expect(messages).toEqual([]);
  });

  it('gives browser bundlers loadModel on onnxruntime-web, with no node: module anywhere in the graph', async () => {
    for (const specifier of ['modelship', 'modelship/browser']) {
      const result = await build({
        stdin: { contents: `export * from '${specifier}';`, resolveDir: root, loader: 'ts' },
        bundle: true,
        splitting: true,
        outdir: 'out',
        write: false,
        platform: 'browser',
        format: 'esm',
        metafile: true,
        logLevel: 'silent',
        // Resolve through package.json "exports" as a user's bundler would, not through our tsconfig paths.
        tsconfigRaw: {},
      });
      const inputs = Object.keys(result.metafile.inputs);
      expect(
        inputs.some((i) => i.endsWith('dist/browser.js')),
        specifier,
      ).toBe(true);
      // The lazily imported runtime is part of the graph (its own chunk), and is the WebAssembly build by default.
      expect(
        inputs.some((i) => i.endsWith('onnxruntime-web/dist/ort.wasm.bundle.min.mjs')),
        specifier,
      ).toBe(true);
      // Nor any cloud SDK: they are Node-side optional peers, imported (by computed specifiers) only when used.
      const cloudSdk = /@google-cloud|google-auth-library|gcp-metadata|@azure|@aws-sdk/;
      expect(
        inputs.filter((i) => /node:|onnxruntime-node|index\.node|proper-lockfile/.test(i) || cloudSdk.test(i)),
        specifier,
      ).toEqual([]);
      const entry = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
      expect(entry?.exports, specifier).toEqual(
        expect.arrayContaining([
          'loadModel',
          'createDeployment',
          'createOnnxWebBackend',
          'createWorkerBackend',
          'ModelshipError',
          'createHandler',
        ]),
      );
      for (const file of result.outputFiles) {
        // onnxruntime-web keeps a few Node-only branches behind its own require shim; nothing imports node: for real.
        expect(file.text, file.path).not.toMatch(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["']node:/);
      }
    }
  });

  it('resolves modelship, modelship/node and modelship/express under Node and serves a model from dist, without loading undici or optional peers', async () => {
    const script = `
      const m = await import('modelship');
      const { serve } = await import('modelship/node');
      const { createMiddleware } = await import('modelship/express');
      const model = await m.loadModel(process.env.MODEL_PATH, { name: 'relu', version: '1' });
      const server = await serve(m.createHandler({ models: [model] }), { port: 0, host: '127.0.0.1' });
      const res = await fetch(server.url + '/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [[-1, 2]] }) });
      const body = await res.json();
      await server.close();
      // Serving from a local file needs none of the optional or remote-only packages.
      const { createRequire } = await import('node:module');
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => /node_modules[/](undici|@aws-sdk|@google-cloud|google-auth-library|gcp-metadata|@azure|@grpc|onnxruntime-web)[/]/.test(f));
      console.log(JSON.stringify({
        loaded: [...new Set(loaded.map((f) => f.match(/node_modules[/]((@[^/]+[/])?[^/]+)/)[1]))],
        resolved: import.meta.resolve('modelship'),
        exports: [typeof m.loadModel, typeof m.createLocalRegistry, typeof m.createHandler, typeof m.ModelshipError, typeof serve, typeof createMiddleware],
        body,
      }));
    `;
    const bytes = writeOnnxModel({
      inputs: [{ name: 'x', type: 'float32', shape: ['n', 2] }],
      outputs: [{ name: 'y', type: 'float32', shape: ['n', 2] }],
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }],
    });
    const modelPath = await tempFile(bytes);
    // Plain node (no tsx, no tsconfig paths): 'modelship' resolves through package.json "exports" to dist.
    // With --input-type (refused by workers started from a file) and a V8 flag (refused by any worker), as apps run.
    const { stdout } = await run(process.execPath, ['--max-old-space-size=512', '--input-type=module', '-e', script], {
      cwd: root,
      env: { ...process.env, MODEL_PATH: modelPath },
    });
    const out = JSON.parse(stdout.trim().split('\n').pop() as string);
    expect(out.loaded).toEqual([]);
    expect(out.resolved).toMatch(/dist\/index\.node\.js$/);
    expect(out.exports).toEqual(['function', 'function', 'function', 'function', 'function', 'function']);
    expect(out.body).toEqual({ id: expect.any(String), model: 'relu', version: '1', outputs: { y: [[0, 2]] } });
  });
});
