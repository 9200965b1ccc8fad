/**
 * Bench ceiling for a server that runs the model: bare node:http as in bare-node.ts, plus one raw
 * onnxruntime-node session on the event loop (the fastest hand-written way to serve a small model in one
 * process, with no validation, batching or workers). Prints "READY <port>".
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import ort from 'onnxruntime-node';

const session = await ort.InferenceSession.create(readFileSync(process.env.MODEL_PATH as string), {
  intraOpNumThreads: 1,
});
const [inputName] = session.inputNames as [string];
const [outputName] = session.outputNames as [string];

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { inputs: number[][] };
    const rows = body.inputs;
    const width = (rows[0] as number[]).length;
    const data = new Float32Array(rows.length * width);
    rows.forEach((row, i) => data.set(row, i * width));
    session.run({ [inputName]: new ort.Tensor('float32', data, [rows.length, width]) }).then(
      (out) => {
        const answer = JSON.stringify({ outputs: Array.from((out[outputName] as ort.Tensor).data as Float32Array) });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
        res.end(answer);
      },
      (error: unknown) => {
        res.writeHead(500).end(String(error));
      },
    );
  });
});
server.listen(0, '127.0.0.1', () => console.log(`READY ${(server.address() as AddressInfo).port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
