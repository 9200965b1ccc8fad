/**
 * Bench server: modelship's own node:http server with default options. Prints "READY <port>".
 * BENCH_WORKERS, BENCH_DELAY (maxQueueDelayMs), BENCH_WORKER_NICE, BENCH_WORKER_SCHEDULING=normal and
 * BENCH_INLINE=false override the defaults for experiments; the bench sets none of them. On SIGTERM it prints "STATS <json>" (where runs went, and the batching chosen).
 */
import { readFile } from 'node:fs/promises';
import { createHandler, loadModel } from 'modelship';
import { serve } from 'modelship/node';

const model = await loadModel(await readFile(process.env.MODEL_PATH as string), {
  name: 'bench',
  version: '1',
  ...(process.env.BENCH_WORKERS ? { workers: Number(process.env.BENCH_WORKERS) } : {}),
  ...(process.env.BENCH_DELAY ? { batching: { maxQueueDelayMs: Number(process.env.BENCH_DELAY) } } : {}),
  ...(process.env.BENCH_INLINE === 'false' ? { inline: false as const } : {}),
  ...(process.env.BENCH_WORKER_NICE ? { workerNice: Number(process.env.BENCH_WORKER_NICE) } : {}),
  ...(process.env.BENCH_WORKER_SCHEDULING === 'normal' ? { workerScheduling: 'normal' as const } : {}),
});
await model.ready();
const server = await serve(createHandler({ models: [model] }), { port: 0, host: '127.0.0.1' });
console.log(`READY ${server.port}`);
process.on('SIGTERM', () => {
  // Where the runs went (the workers or this thread) and why, for the bench's details.
  console.log(`STATS ${JSON.stringify({ execution: model.stats().execution, batching: model.stats().batching })}`);
  void server
    .close()
    .then(() => model.close())
    .then(() => process.exit(0));
});
