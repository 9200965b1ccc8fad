/**
 * A gRPC client for tests, made the way any grpc-js user makes one: `@grpc/proto-loader` loads the `.proto`
 * files modelship ships (package `inference`, service `GRPCInferenceService`; `grpc.health.v1`) and grpc-js
 * builds the stubs. Nothing here is modelship code.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

const PROTO_DIR = fileURLToPath(new URL('../../../src/http/grpc/proto/', import.meta.url));

const definition = protoLoader.loadSync([`${PROTO_DIR}grpc_predict_v2.proto`, `${PROTO_DIR}health.proto`], {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: true,
});
const loaded = grpc.loadPackageDefinition(definition) as any;

type Callback = (error: grpc.ServiceError | null, response: unknown) => void;
type StubMethod = (...args: unknown[]) => grpc.ClientUnaryCall;
type Stub = grpc.Client & Record<string, StubMethod>;

export interface TestClient {
  readonly inference: grpc.Client;
  readonly health: grpc.Client;
  /** Calls a GRPCInferenceService method. */
  call(method: string, request: object, options?: { metadata?: grpc.Metadata; deadline?: Date }): Promise<any>;
  /** Starts a call and gives its handle (to cancel it) and its answer. */
  start(
    method: string,
    request: object,
    options?: { metadata?: grpc.Metadata; deadline?: Date },
  ): { call: grpc.ClientUnaryCall; answer: Promise<any> };
  check(service: string): Promise<any>;
  close(): void;
}

/** A client of `address` (`127.0.0.1:port`) with grpc-js's defaults, plus `options` (channel options). */
export function grpcClient(address: string, options: grpc.ChannelOptions = {}): TestClient {
  const inference = new loaded.inference.GRPCInferenceService(address, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    ...options,
  }) as Stub;
  const health = new loaded.grpc.health.v1.Health(address, grpc.credentials.createInsecure()) as Stub;
  const start = (method: string, request: object, opts: { metadata?: grpc.Metadata; deadline?: Date } = {}) => {
    let call!: grpc.ClientUnaryCall;
    const answer = new Promise((resolve, reject) => {
      const callback: Callback = (error, response) => (error ? reject(error) : resolve(response));
      call = (inference[method] as StubMethod).call(
        inference,
        request,
        opts.metadata ?? new grpc.Metadata(),
        opts.deadline ? { deadline: opts.deadline } : {},
        callback,
      );
    });
    return { call, answer };
  };
  return {
    inference,
    health,
    call: (method, request, opts) => start(method, request, opts).answer,
    start,
    check: (service) =>
      new Promise((resolve, reject) =>
        (health.Check as StubMethod).call(health, { service }, ((e, r) => (e ? reject(e) : resolve(r))) as Callback),
      ),
    close() {
      inference.close();
      health.close();
    },
  };
}

/** The error a call failed with (fails the test if it succeeded). */
export async function failure(answer: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await answer;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error('the call succeeded; a failure was expected');
}

export { grpc };
