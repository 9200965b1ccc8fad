/** Bench server: modelship's own node:http server with default options. Prints "READY <port>". */
import { readFile } from 'node:fs/promises';
import { createHandler, loadModel } from 'modelship';
import { serve } from 'modelship/node';

const model = await loadModel(await readFile(process.env.MODEL_PATH as string), { name: 'bench', version: '1' });
await model.ready();
const server = await serve(createHandler({ models: [model] }), { port: 0, host: '127.0.0.1' });
console.log(`READY ${server.port}`);
process.on('SIGTERM', () => void server.close().then(() => model.close()).then(() => process.exit(0)));
