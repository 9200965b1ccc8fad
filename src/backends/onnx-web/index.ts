export { createOnnxWebBackend } from './onnx-web-backend.js';
export type { OnnxWebBackendOptions, OnnxWebLogger } from './onnx-web-options.js';
