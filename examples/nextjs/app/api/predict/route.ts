/**
 * POST /api/predict — the MNIST demo model, served by modelship's fetch-style handler on the Node.js runtime.
 * Body: {"inputs": [[…784 pixels in 0..1…]]} → {"model", "version", "outputs": {"probabilities", "label"}}.
 */
import { join } from 'node:path';
import { createHandler, type ModelshipHandler } from 'modelship';
import { loadModel } from 'modelship/node';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

// Loaded on the first request and shared by every request after it (not at build time).
let handler: Promise<ModelshipHandler> | undefined;

function getHandler(): Promise<ModelshipHandler> {
  handler ??= loadModel(join(process.cwd(), 'models', 'mnist.onnx'), { name: 'mnist', version: '1' }).then(
    async (model) => {
      await model.ready();
      return createHandler({ models: [model], basePath: '/api' });
    },
  );
  handler.catch(() => (handler = undefined)); // a failed load is retried by the next request
  return handler;
}

export async function POST(request: Request): Promise<Response> {
  return (await getHandler())(request);
}
