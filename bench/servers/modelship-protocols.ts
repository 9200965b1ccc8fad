/**
 * Bench server for the protocol comparison: one modelship handler served over HTTP (/predict, OIP v2 JSON and
 * binary, TF Serving v1) and gRPC (OIP v2) by `serve({ grpc })`, default options. Prints
 * "READY <httpPort> <grpcPort>".
 */
import { readFile } from 'node:fs/promises';
import { createHandler, loadModel } from 'modelship';
import { serve } from 'modelship/node';

const model = await loadModel(await readFile(process.env.MODEL_PATH as string), { name: 'bench', version: '1' });
await model.ready();
const server = await serve(createHandler({ models: [model] }), {
  port: 0,
  host: '127.0.0.1',
  grpc: { port: 0, host: '127.0.0.1' },
});
console.log(`READY ${server.port} ${server.grpc?.port}`);
process.on(
  'SIGTERM',
  () =>
    void server
      .close()
      .then(() => model.close())
      .then(() => process.exit(0)),
);
