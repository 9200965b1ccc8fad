/**
 * The gRPC transport's floor for the protocol bench: a grpc-js server set up as `serveGrpc` sets up its own
 * (Nagle off, channelz off) that answers `ModelInfer` with one fixed, pre-serialized `ModelInferResponse` (the
 * shape of the MNIST MLP's answer, raw contents) without decoding the request or running a model. What it
 * reaches under the bench's gRPC load generator is the most any gRPC server on grpc-js could reach on this
 * machine. Prints "READY <grpcPort>".
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

const proto = fileURLToPath(new URL('../../src/http/grpc/proto/grpc_predict_v2.proto', import.meta.url));
const definition = protoLoader.loadSync(proto, { keepCase: true, longs: Number, enums: String, arrays: true });
const method = (definition['inference.GRPCInferenceService'] as grpc.ServiceDefinition)
  .ModelInfer as grpc.MethodDefinition<object, object>;
const answer = method.responseSerialize({
  model_name: 'bench',
  model_version: '1',
  outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [1, 10] }],
  raw_output_contents: [Buffer.alloc(40)],
});
const same = (b: Buffer): Buffer => b;
const server = new grpc.Server({ 'grpc.enable_channelz': 0 });
server.register(
  method.path,
  (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, answer),
  same,
  same,
  'unary',
);
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) =>
    error ? reject(error) : resolve(p),
  ),
);
// As serveGrpc does (see disableNagle there): grpc-js keeps its node:http2 servers in a private map.
for (const http2Server of (
  server as unknown as { http2Servers: Map<{ on(e: string, f: (s: { setNoDelay(): void }) => void): void }, unknown> }
).http2Servers.keys()) {
  http2Server.on('connection', (socket) => socket.setNoDelay());
}
console.log(`READY ${port}`);
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
