import type { NextConfig } from 'next';

const config: NextConfig = {
  // Load these from node_modules at run time instead of bundling them: onnxruntime-node is a native addon,
  // and modelship reads model files and registries at paths only known at run time.
  serverExternalPackages: ['modelship', 'onnxruntime-node'],
};

export default config;
