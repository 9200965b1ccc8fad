/** The OIP conformance table over gRPC (grpc-js on the shipped .proto; see grpc-driver.ts), on a real port. */
import { afterAll, beforeAll } from 'vitest';
import { createHandler, silentLogger } from 'modelship';
import { serveGrpc, type ModelshipGrpcServer } from 'modelship/node';
import { grpcDriver } from './grpc-driver.js';
import { conformanceModels, describeOipConformance, type ConformanceModels } from './suite.js';

let server: ModelshipGrpcServer;
let models: ConformanceModels;
let driver: ReturnType<typeof grpcDriver>;

beforeAll(async () => {
  models = await conformanceModels();
  const handler = createHandler({ models: models.models, logger: silentLogger, closeModels: false });
  server = await serveGrpc(handler, { port: 0, host: '127.0.0.1' });
  driver = grpcDriver(`127.0.0.1:${server.port}`);
});
afterAll(async () => {
  driver?.close();
  await server?.close();
  await models?.close();
});

describeOipConformance(() => ({ driver, models }));
