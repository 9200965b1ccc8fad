/**
 * `modelship/node`: the Node runtime (as in `modelship` under Node), plus the node:http server and the
 * onnxruntime-node backend.
 * @packageDocumentation
 */
export * from './runtime/node.js';
export {
  createDvcRegistry,
  type DvcRegistry,
  type DvcRegistryOptions,
  type DvcPublishInput,
} from './registries/dvc/index.js';
export {
  createVertexRegistry,
  parseVertexRef,
  type VertexRegistry,
  type VertexRegistryOptions,
  type VertexPublishInput,
  type VertexRef,
} from './registries/vertex/index.js';
export {
  createAzureMlRegistry,
  parseAzureMlRef,
  type AzureMlRegistry,
  type AzureMlRegistryOptions,
  type AzureMlPublishInput,
  type AzureMlRef,
  type AzureTokenCredential,
} from './registries/azureml/index.js';
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
