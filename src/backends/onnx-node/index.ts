export { createOnnxNodeBackend, cleanRuntimeMessage } from './onnx-node-backend.js';
