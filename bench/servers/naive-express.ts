/**
 * Bench baseline: the Express app people write first — express.json(), then `session.run()` per request on the
 * main thread, answering with the outputs as JSON. Prints "READY <port>".
 */
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import express from 'express';
import ort from 'onnxruntime-node';

const session = await ort.InferenceSession.create(await readFile(process.env.MODEL_PATH as string));
const app = express();
app.use(express.json({ limit: '8mb' }));
app.post('/predict', async (req, res) => {
  try {
    const rows = (req.body as { inputs: number[][] }).inputs;
    const data = Float32Array.from(rows.flat());
    const out = await session.run({ input: new ort.Tensor('float32', data, [rows.length, data.length / rows.length]) });
    res.json({
      outputs: {
        probabilities: Array.from(out.probabilities?.data as Float32Array),
        label: Array.from(out.label?.data as BigInt64Array, Number),
      },
    });
  } catch (error) {
    res.status(400).json({ error: String(error) });
  }
});
const server = app.listen(0, '127.0.0.1', () => console.log(`READY ${(server.address() as AddressInfo).port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
