/**
 * Bench server: modelship's own node:http server with default options. Prints "READY <port>".
 * BENCH_WORKERS and BENCH_DELAY (maxQueueDelayMs) override the defaults for experiments; the bench sets neither.
 */
import { readFile } from 'node:fs/promises';
import { createHandler, loadModel } from 'modelship';
import { serve } from 'modelship/node';

const model = await loadModel(await readFile(process.env.MODEL_PATH as string), {
  name: 'bench',
  version: '1',
  ...(process.env.BENCH_WORKERS ? { workers: Number(process.env.BENCH_WORKERS) } : {}),
  ...(process.env.BENCH_DELAY ? { batching: { maxQueueDelayMs: Number(process.env.BENCH_DELAY) } } : {}),
});
await model.ready();
const server = await serve(createHandler({ models: [model] }), { port: 0, host: '127.0.0.1' });
console.log(`READY ${server.port}`);
process.on(
  'SIGTERM',
  () =>
    void server
      .close()
      .then(() => model.close())
      .then(() => process.exit(0)),
);
