import { defineConfig } from 'vite';

// Cross-origin isolation lets onnxruntime-web use WebAssembly threads (SharedArrayBuffer); without these two
// headers it runs single-threaded and modelship says so once in the console.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  server: { headers: isolation },
  preview: { headers: isolation },
  // modelship imports onnxruntime-web lazily, so the worker bundle has more than one chunk: use ES module workers.
  worker: { format: 'es' },
  // Pre-bundling would move onnxruntime-web away from its .wasm files in dev; serve it as installed instead.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
});
