/**
 * `modelship/node`: the Node runtime (as in `modelship` under Node), plus the node:http server and the
 * onnxruntime-node backend.
 * @packageDocumentation
 */
export * from './runtime/node.js';
export { serve, type ServeOptions, type ModelshipServer } from './http/node/serve.js';
export {
  serveGrpc,
  type ServeGrpcOptions,
  type GrpcListenOptions,
  type ModelshipGrpcServer,
} from './http/grpc/serve-grpc.js';
export { toWebRequest, sendWebResponse, type ToWebRequestOptions } from './http/node/bridge.js';
export { createPayloadFileSink, type PayloadFileSink } from './http/node/payload-file-sink.js';
export { createOnnxNodeBackend } from './backends/onnx-node/index.js';
export { defaultModelsDir } from './serving/node-runtime.js';
export { optionSchemas } from './runtime/option-schemas.js';
