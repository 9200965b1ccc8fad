/** The OIP conformance table over HTTP (tritonclient's bytes; see http-driver.ts), on a real server and port. */
import { afterAll, beforeAll } from 'vitest';
import { createHandler, silentLogger } from 'modelship';
import { serve, type ModelshipServer } from 'modelship/node';
import type { OipDriver } from './cases.js';
import { httpDriver } from './http-driver.js';
import { conformanceModels, describeOipConformance, type ConformanceModels } from './suite.js';

let server: ModelshipServer;
let models: ConformanceModels;
let driver: OipDriver;

beforeAll(async () => {
  models = await conformanceModels();
  server = await serve(createHandler({ models: models.models, logger: silentLogger }), { port: 0, host: '127.0.0.1' });
  driver = httpDriver(server.url);
});
afterAll(async () => {
  await server?.close();
  await models?.close();
});

describeOipConformance(() => ({ driver, models }));
