/**
 * A test page for the browser build: `modelship/browser` bundled with esbuild through the package's
 * `exports` (so it is dist/ as users get it), exposed as `window.modelship`, plus a Web Worker that serves
 * the onnxruntime-web backend. onnxruntime-web's files are served from /ort/ (the `wasmPaths` option).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { tempDir } from '../helpers/models.js';
import { serveStatic, type StaticServer } from '../helpers/static-server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head>
<body><script type="module">import * as m from './harness.js'; window.modelship = m; document.body.dataset.ready = 'true';</script></body></html>`;

const HARNESS = `export * from 'modelship/browser';`;
const WORKER = `import { createOnnxWebBackend, serveBackend } from 'modelship/browser';
serveBackend(createOnnxWebBackend({ wasmPaths: '/ort/', numThreads: 1 }));`;

/** Bundles `contents` for the browser into `outdir/<name>.js` (plus chunks), resolving modelship through its exports. */
async function bundle(contents: string, outdir: string, name: string): Promise<void> {
  await build({
    stdin: { contents, resolveDir: root, loader: 'ts', sourcefile: `${name}.ts` },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    outdir,
    entryNames: name,
    logLevel: 'silent',
    tsconfigRaw: {}, // resolve through package.json "exports", not tsconfig paths
  });
}

/** Bundles the harness into a fresh directory and serves it, with `models` under /models/. */
export async function serveHarness(
  models: Record<string, Uint8Array>,
  headers: Record<string, string> = {},
): Promise<StaticServer> {
  const out = await tempDir('modelship-harness-');
  const modelDir = join(out, 'models');
  await mkdir(modelDir);
  await Promise.all(Object.entries(models).map(([name, bytes]) => writeFile(join(modelDir, name), bytes)));
  await writeFile(join(out, 'index.html'), PAGE);
  await bundle(HARNESS, out, 'harness');
  await bundle(WORKER, join(out, 'worker'), 'worker');
  return serveStatic({ '/': out, '/ort/': join(root, 'node_modules/onnxruntime-web/dist') }, headers);
}
