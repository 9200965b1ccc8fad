import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync('./package.json', 'utf8')) as { version: string };

export default defineConfig({
  entry: ['src/index.ts', 'src/index.node.ts', 'src/node.ts', 'src/express.ts', 'src/browser.ts'],
  format: ['esm'],
  target: 'node20',
  platform: 'neutral',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
  treeshake: true,
  // Peers and optional runtimes stay external and are imported lazily at the point of use.
  external: ['onnxruntime-node', /^onnxruntime-web(\/|$)/, 'express', /^node:/],
  define: { MODELSHIP_VERSION: JSON.stringify(version) },
});
