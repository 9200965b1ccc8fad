import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, loadModel, silentLogger, type Model, type ServableModel } from 'modelship';
import { serve, serveGrpc, type ModelshipServer } from 'modelship/node';
import { digitImage, IMAGE_SIZE } from '../../../examples/shared/mnist-data.js';
import { wrap } from '../../helpers/deployments.js';
import { postJson } from '../../helpers/http.js';
import { tinyMnist } from '../../helpers/models.js';
import { failure, grpc, grpcClient } from './grpc-client.js';

describe('serve({ grpc }): HTTP and gRPC on one handler, drained together', () => {
  let mnist: Model;
  const { test } = tinyMnist();
  const pixels = digitImage(test, 0);

  beforeAll(async () => {
    mnist = await loadModel(tinyMnist().onnx, { name: 'mnist', version: '1', logger: silentLogger });
    await mnist.ready();
  });
  afterAll(async () => {
    await mnist.close();
  });

  it('serves the same model on both, and close() lets calls in flight on either finish', async () => {
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    // Holds the first two predictions (one per transport) until the test opens the gate.
    const gated: ServableModel = wrap(mnist, async (input, options) => {
      if (++calls === 2) entered();
      if (calls <= 2) await gate;
      return mnist.predict(input, options);
    });
    const handler = createHandler({ models: [gated], closeModels: false, logger: silentLogger });
    const server: ModelshipServer = await serve(handler, {
      port: 0,
      host: '127.0.0.1',
      grpc: { port: 0, host: '127.0.0.1' },
    });
    expect(server.grpc?.url).toBe(`grpc://127.0.0.1:${server.grpc?.port}`);
    const client = grpcClient(`127.0.0.1:${server.grpc!.port}`);
    try {
      const viaGrpc = client.call('ModelInfer', {
        model_name: 'mnist',
        inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, IMAGE_SIZE], contents: { fp32_contents: pixels } }],
      });
      const viaHttp = postJson(`${server.url}/predict`, { inputs: [pixels] });
      await inside;
      const closed = server.close();
      const late = failure(client.call('ServerLive', {}));
      release();
      const [grpcAnswer, httpAnswer] = await Promise.all([viaGrpc, viaHttp]);
      await closed;
      expect(httpAnswer.status).toBe(200);
      const label = (httpAnswer.body.outputs.label as number[])[0];
      const grpcLabel = grpcAnswer.outputs.find((o: { name: string }) => o.name === 'label').contents.int64_contents[0];
      expect(grpcLabel).toBe(label);
      expect((await late).code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      client.close();
    }
  });

  it('ends open health Watch streams with NOT_SERVING when it closes', async () => {
    const handler = createHandler({ models: [mnist], closeModels: false, logger: silentLogger });
    const server = await serveGrpc(handler, { port: 0, host: '127.0.0.1' });
    const client = grpcClient(`127.0.0.1:${server.port}`);
    try {
      const stream = (client.health as unknown as { Watch: (r: object) => NodeJS.ReadableStream }).Watch({
        service: '',
      });
      const statuses: string[] = [];
      const ended = new Promise<void>((resolve, reject) => {
        stream.on('data', (m: { status: string }) => {
          statuses.push(m.status);
          if (statuses.length === 1) void server.close();
        });
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      await ended;
      expect(statuses).toEqual(['SERVING', 'NOT_SERVING']);
    } finally {
      client.close();
    }
  });

  it('refuses bad options and a taken port with typed errors', async () => {
    const handler = createHandler({ models: [mnist], closeModels: false, logger: silentLogger });
    await expect(serveGrpc(handler, { port: -1 })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await expect(serveGrpc(handler, { maxReceiveMessageLength: 0 })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    const first = await serveGrpc(handler, { port: 0, host: '127.0.0.1' });
    try {
      await expect(serveGrpc(handler, { port: first.port, host: '127.0.0.1' })).rejects.toMatchObject({
        code: 'ADDRESS_IN_USE',
      });
    } finally {
      await first.close();
    }
  });
});
