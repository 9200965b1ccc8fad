import { cpSync, readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync('./package.json', 'utf8')) as { version: string };

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'index.node': 'src/index.node.ts',
    node: 'src/node.ts',
    express: 'src/express.ts',
    testing: 'src/testing.ts',
    browser: 'src/browser.ts',
    // The `modelship` command (package.json "bin"); only it imports commander and cli-progress.
    cli: 'src/cli/main.ts',
    // Started by the worker pool as `new URL('./session-worker.js', import.meta.url)`: keep it at dist/'s top.
    'session-worker': 'src/backends/onnx-node/session-worker.ts',
  },
  format: ['esm'],
  target: 'node20',
  platform: 'neutral',
  dts: true,
  // No source maps in the package: dist/ is unminified ES2022 with the sources' names, so stack traces read as
  // they are, and maps that embed the sources were 1.26 of the package's 2.0 MB (README.md, "Package").
  sourcemap: false,
  clean: true,
  splitting: true,
  treeshake: true,
  // Peers and optional runtimes stay external and are imported lazily at the point of use.
  external: ['onnxruntime-node', /^onnxruntime-web(\/|$)/, 'express', 'vitest', /^node:/],
  define: { MODELSHIP_VERSION: JSON.stringify(version) },
  // The gRPC service loads its .proto files from `./proto/` beside the chunk that holds it (src/http/grpc/proto).
  onSuccess: async () => cpSync('src/http/grpc/proto', 'dist/proto', { recursive: true }),
});
