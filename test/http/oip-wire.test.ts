/**
 * The OIP v2 REST surface on the wire, on a real server and port with real models: the error shape on every
 * route, ids, Content-Type rules, the binary data extension's framing, compression both ways, and hostile
 * bodies. Requests are built as tritonclient builds them (see conformance/http-driver.ts for the source it
 * follows); compressed bodies as its `gzip.compress` / `zlib.compress` make them (node's zlib writes the same
 * formats).
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { deflateRawSync, deflateSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, loadModel, silentLogger, type Model } from 'modelship';
import express from 'express';
import { createMiddleware } from 'modelship/express';
import { serve, type ModelshipServer } from 'modelship/node';
import { digitImage } from '../../examples/shared/mnist-data.js';
import { tinyMnist } from '../helpers/models.js';
import { parseTritonAnswer, send, tritonError, tritonRequestBody, type RawAnswer } from './conformance/http-driver.js';
import { allTypesModel } from './conformance/models.js';
import { toBytes } from './conformance/wire.js';

const LIMIT = 256 * 1024;

describe('OIP v2 REST on the wire', () => {
  let server: ModelshipServer;
  let base: string;
  let mnist: Model;
  let alltypes: Model;
  const digit = Array.from(digitImage(tinyMnist().test, 0));
  const pixels = (rows = 1, binary = true) => ({
    inputs: [
      { name: 'pixels', datatype: 'FP32', shape: [rows, 784], data: new Array(rows).fill(digit).flat(), binary },
    ],
  });

  beforeAll(async () => {
    mnist = await loadModel(tinyMnist().onnx, { name: 'mnist', version: '1' });
    alltypes = await loadModel(allTypesModel(), { name: 'alltypes', version: '1' });
    await Promise.all([mnist.ready(), alltypes.ready()]);
    const handler = createHandler({ models: [mnist, alltypes], maxBodyBytes: LIMIT, logger: silentLogger });
    server = await serve(handler, { port: 0, host: '127.0.0.1' });
    base = server.url;
  });
  afterAll(async () => {
    await server.close();
    await Promise.all([mnist.close(), alltypes.close()]);
  });

  const infer = (body: Uint8Array, headers: Record<string, string> = {}, path = '/v2/models/mnist/infer') =>
    send(base, 'POST', path, body, headers);
  const binary = (rows = 1): { body: Uint8Array; headers: Record<string, string> } => {
    const { body, headerLength } = tritonRequestBody(pixels(rows), true);
    return { body, headers: { 'Inference-Header-Content-Length': String(headerLength) } };
  };
  const expectError = (answer: RawAnswer, status: number, code: string): string => {
    expect(answer.status).toBe(status);
    // Exactly this type: KServe's InferenceRESTClient (_construct_http_status_error) reads the message only then.
    expect(answer.headers['content-type']).toBe('application/json');
    const error = tritonError(answer);
    expect(error.code).toBe(code);
    expect(answer.body.toString()).not.toMatch(/\n\s+at |\/tmp\/|node_modules|\.ts:/);
    return error.message;
  };

  it('answers every error under /v2 as {"error": "<message>", "code"}: 404s, 405s, bad bodies', async () => {
    expectError(await send(base, 'GET', '/v2/nope'), 404, 'ROUTE_NOT_FOUND');
    expectError(await send(base, 'GET', '/v2/models/mnist/versions/1/nope'), 404, 'ROUTE_NOT_FOUND');
    expectError(await send(base, 'GET', '/v2/models/ghost'), 404, 'MODEL_NOT_FOUND');
    expectError(await send(base, 'GET', '/v2/models/mnist/versions/7/ready'), 404, 'VERSION_NOT_FOUND');
    expectError(await send(base, 'GET', '/v2/models/ghost/config'), 404, 'MODEL_NOT_FOUND');
    expectError(await send(base, 'GET', '/v2/models/ghost/stats'), 404, 'MODEL_NOT_FOUND');
    const wrong = await send(base, 'GET', '/v2/models/mnist/infer');
    expectError(wrong, 405, 'METHOD_NOT_ALLOWED');
    expect(wrong.headers.allow).toBe('POST');
    expectError(await send(base, 'POST', '/v2/health/live', new Uint8Array(0)), 405, 'METHOD_NOT_ALLOWED');
    expectError(await infer(new TextEncoder().encode('{"inputs": [')), 400, 'MALFORMED_REQUEST');
    // The simple protocol keeps its structured error.
    const simple = await send(base, 'GET', '/models/ghost');
    expect(JSON.parse(simple.body.toString()).error).toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('echoes an id only when the request has one', async () => {
    const withId = tritonRequestBody({ id: 'abc-1', ...pixels(1, false) }, false);
    expect(JSON.parse((await infer(withId.body)).body.toString()).id).toBe('abc-1');
    const without = tritonRequestBody(pixels(1, false), false);
    expect(JSON.parse((await infer(without.body)).body.toString())).not.toHaveProperty('id');
    const numeric = new TextEncoder().encode(JSON.stringify({ id: 7, ...pixels(1, false) }));
    expectError(await infer(numeric), 400, 'INVALID_INPUT');
  });

  it('reads a body without Content-Type as JSON, or as binary with Inference-Header-Content-Length', async () => {
    const json = tritonRequestBody(pixels(1, false), false);
    expect((await infer(json.body)).status).toBe(200);
    const { body, headers } = binary(2);
    const answer = await infer(body, headers);
    expect(answer.status).toBe(200);
    // tritonclient asked for binary outputs (no outputs listed → binary_data_output): the answer is framed.
    expect(answer.headers['content-type']).toBe('application/octet-stream');
    const result = parseTritonAnswer(answer);
    const local = await mnist.predict([digit, digit]);
    expect(result.outputs.find((o: { name: string }) => o.name === 'label').data).toEqual(local.label?.toFlatArray());
    // Other clients label the same bytes application/octet-stream.
    const octet = await infer(body, { ...headers, 'Content-Type': 'application/octet-stream' });
    expect(octet.status).toBe(200);
    // Without the header, a non-JSON type is still refused.
    expectError(await infer(json.body, { 'Content-Type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers binary data through the fetch face too (Next.js route handlers, Bun, Deno)', async () => {
    const handler = createHandler({ models: [mnist], closeModels: false, logger: silentLogger });
    const { body, headers } = binary(2);
    const res = await handler(
      new Request('http://x/v2/models/mnist/infer', { method: 'POST', body: Buffer.from(body), headers }),
    );
    expect(res.status).toBe(200);
    const answer = {
      status: res.status,
      headers: Object.fromEntries(res.headers),
      body: Buffer.from(await res.arrayBuffer()),
    };
    const local = await mnist.predict([digit, digit]);
    const label = parseTritonAnswer(answer).outputs.find((o: { name: string }) => o.name === 'label');
    expect(label.data).toEqual(local.label?.toFlatArray());
  });

  it("answers tritonclient's binary requests behind Express and express.json(), which leaves them alone", async () => {
    const app = express();
    app.use(express.json());
    app.use('/ml', createMiddleware({ models: [mnist], closeModels: false, logger: silentLogger }));
    const listening = app.listen(0, '127.0.0.1');
    await once(listening, 'listening');
    const url = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
    try {
      const { body, headers } = binary(2);
      const answer = await send(url, 'POST', '/ml/v2/models/mnist/infer', body, headers);
      expect(answer.status).toBe(200);
      const label = parseTritonAnswer(answer).outputs.find((o: { name: string }) => o.name === 'label');
      expect(label.data).toEqual((await mnist.predict([digit, digit])).label?.toFlatArray());
      expectError(await send(url, 'GET', '/ml/v2/models/nope'), 404, 'MODEL_NOT_FOUND');
      // express.json() inflates a gzip JSON body itself; what reaches modelship is the parsed body.
      const json = gzipSync(tritonRequestBody(pixels(1, false), false).body);
      const gz = { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' };
      expect((await send(url, 'POST', '/ml/v2/models/mnist/infer', json, gz)).status).toBe(200);
    } finally {
      await new Promise((resolve) => listening.close(resolve));
    }
  });

  it('inflates gzip and deflate request bodies as tritonclient compresses them, and answers compressed on Accept-Encoding', async () => {
    const { body, headers } = binary(3);
    for (const [encoding, compress] of [
      ['gzip', gzipSync],
      ['deflate', deflateSync],
      ['deflate', deflateRawSync],
    ] as const) {
      const answer = await infer(compress(body), { ...headers, 'Content-Encoding': encoding });
      expect(answer.status, encoding).toBe(200);
      expect(parseTritonAnswer(answer).outputs[1].data).toHaveLength(3);
    }
    // InferResult decompresses by Content-Encoding (gzip.decompress / zlib.decompress), then reads the header.
    const json = tritonRequestBody(pixels(8, false), false).body;
    for (const [accept, inflate] of [
      ['gzip', gunzipSync],
      ['deflate', inflateSync],
    ] as const) {
      const answer = await infer(json, { 'Accept-Encoding': accept });
      expect(answer.status).toBe(200);
      expect(answer.headers['content-encoding']).toBe(accept);
      expect(answer.headers.vary).toBe('accept-encoding');
      const result = JSON.parse(inflate(answer.body).toString());
      expect(result.outputs[0].shape).toEqual([8, 10]);
    }
    // A binary answer too: Inference-Header-Content-Length counts the inflated header, as tritonclient reads it.
    const framed = binary(32);
    const zipped = await infer(framed.body, { ...framed.headers, 'Accept-Encoding': 'gzip' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    const inflated = parseTritonAnswer({ ...zipped, body: gunzipSync(zipped.body) });
    expect(inflated.outputs.find((o: { name: string }) => o.name === 'label').data).toHaveLength(32);
    expectError(await infer(json, { 'Content-Encoding': 'br' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await infer(Buffer.from('not gzip at all'), { 'Content-Encoding': 'gzip' }), 400, 'MALFORMED_REQUEST');
  });

  it('refuses a gzip bomb with 413 and a typed error, without inflating it all', async () => {
    // 64 gzip members of 16 MiB of zeros each: 1 GiB inflated from about 1 MiB sent (gunzip reads members in turn).
    const member = gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 });
    const bomb = Buffer.concat(new Array(64).fill(member));
    const handler = createHandler({
      models: [mnist],
      maxBodyBytes: 2 * 1024 * 1024,
      closeModels: false,
      logger: silentLogger,
    });
    const bombServer = await serve(handler, { port: 0, host: '127.0.0.1' });
    try {
      const before = process.memoryUsage().arrayBuffers;
      const answer = await send(bombServer.url, 'POST', '/v2/models/mnist/infer', bomb, { 'Content-Encoding': 'gzip' });
      expect(answer.status).toBe(413);
      expect(tritonError(answer)).toMatchObject({
        code: 'PAYLOAD_TOO_LARGE',
        message: expect.stringMatching(/inflates/),
      });
      // The server (this process) held at most about the limit of inflated bytes, not the bomb's gigabyte.
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(256 * 1024 * 1024);
    } finally {
      await bombServer.close();
    }
  });

  it('holds what concurrent compressed bodies inflate to within a server-wide budget: 503 SERVER_BUSY past it', async () => {
    // Each body inflates to 900 KiB (under the 1 MiB limit); eight at once pass four times the limit.
    const handler = createHandler({
      models: [mnist],
      maxBodyBytes: 1024 * 1024,
      closeModels: false,
      logger: silentLogger,
    });
    const own = await serve(handler, { port: 0, host: '127.0.0.1' });
    try {
      const body = gzipSync(Buffer.from(JSON.stringify({ pad: ' '.repeat(900 * 1024) })));
      const post = () => send(own.url, 'POST', '/v2/models/mnist/infer', body, { 'Content-Encoding': 'gzip' });
      const answers = await Promise.all(Array.from({ length: 8 }, post));
      const busy = answers.filter((a) => a.status === 503);
      expect(busy.length).toBeGreaterThan(0);
      for (const a of busy) expect(a.headers['retry-after']).toBe('1');
      for (const a of busy) expect(tritonError(a).code).toBe('SERVER_BUSY');
      // The others were inflated whole and read (no "inputs": 400).
      for (const a of answers.filter((x) => x.status !== 503)) expect(tritonError(a).code).toBe('INVALID_INPUT');
      // Nothing stays counted: a body alone is inflated.
      expect(tritonError(await post()).code).toBe('INVALID_INPUT');
    } finally {
      await own.close();
    }
  });

  it('refuses binary framing that does not add up, naming the input, and serves the next request', async () => {
    const { body, headers } = binary(1);
    const headerLength = Number(headers['Inference-Header-Content-Length']);
    const head = JSON.parse(Buffer.from(body.subarray(0, headerLength)).toString());
    const blob = body.subarray(headerLength);
    const frame = (h: unknown, ...blobs: Uint8Array[]) => {
      const text = Buffer.from(JSON.stringify(h));
      return {
        body: Buffer.concat([text, ...blobs]),
        headers: { 'Inference-Header-Content-Length': String(text.length) },
      };
    };
    // The header length past the end of the body; not a number.
    expect(
      expectError(
        await infer(body, { 'Inference-Header-Content-Length': String(body.length + 1) }),
        400,
        'MALFORMED_REQUEST',
      ),
    ).toMatch(/past the end/);
    expectError(await infer(body, { 'Inference-Header-Content-Length': '12abc' }), 400, 'MALFORMED_REQUEST');
    // A truncated blob: binary_data_size says more than the body holds.
    const truncated = frame(head, blob.subarray(0, blob.length - 10));
    expect(expectError(await infer(truncated.body, truncated.headers), 400, 'INVALID_INPUT')).toMatch(
      /binary_data_size is 3136, but only 3126/,
    );
    // Bytes no input claims.
    const extra = frame(head, blob, new Uint8Array(4));
    expect(expectError(await infer(extra.body, extra.headers), 400, 'INVALID_INPUT')).toMatch(/belong to no input/);
    // A size that agrees with the body but not with the shape.
    const shaped = frame({ ...head, inputs: [{ ...head.inputs[0], shape: [2, 784] }] }, blob);
    expect(expectError(await infer(shaped.body, shaped.headers), 400, 'INVALID_INPUT')).toMatch(
      /needs 6272 bytes of binary data, got 3136/,
    );
    // binary_data_size without the header that frames it.
    expectError(await infer(Buffer.from(JSON.stringify(head))), 400, 'INVALID_INPUT');
    // A negative size; both data and binary data.
    const negative = frame({ ...head, inputs: [{ ...head.inputs[0], parameters: { binary_data_size: -1 } }] });
    expectError(await infer(negative.body, negative.headers), 400, 'INVALID_INPUT');
    const both = frame({ ...head, inputs: [{ ...head.inputs[0], data: digit }] }, blob);
    expect(expectError(await infer(both.body, both.headers), 400, 'INVALID_INPUT')).toMatch(
      /both "data" and binary data/,
    );
    expect((await infer(body, headers)).status).toBe(200);
  });

  it('refuses BYTES elements whose lengths run past the end, leftover bytes, and non-UTF-8 text', async () => {
    const bytesInput = (raw: Uint8Array, shape = [1, 2]) => {
      const h = {
        inputs: [{ name: 'in_BYTES', shape, datatype: 'BYTES', parameters: { binary_data_size: raw.length } }],
        outputs: [{ name: 'out_BYTES', parameters: { binary_data: true } }],
      };
      const text = Buffer.from(JSON.stringify(h));
      return infer(
        Buffer.concat([text, raw]),
        { 'Inference-Header-Content-Length': String(text.length) },
        '/v2/models/alltypes/infer',
      );
    };
    const good = toBytes('BYTES', ['ab', 'cde']);
    const past = Buffer.from(good);
    past.writeUInt32LE(1000, 6);
    expect(expectError(await bytesInput(past), 400, 'INVALID_INPUT')).toMatch(/says it is 1000 bytes long/);
    expect(expectError(await bytesInput(good.subarray(0, 8)), 400, 'INVALID_INPUT')).toMatch(/BYTES element 1/);
    expect(expectError(await bytesInput(Buffer.concat([good, Buffer.from([0])])), 400, 'INVALID_INPUT')).toMatch(
      /left over/,
    );
    // A shape that claims a billion elements from 13 bytes is refused before anything is allocated for it.
    expect(expectError(await bytesInput(good, [1_000_000_000, 2]), 400, 'INVALID_INPUT')).toMatch(/hold at most 3/);
    const latin1 = Buffer.from([1, 0, 0, 0, 0xff, 0, 0, 0, 0]);
    expect(expectError(await bytesInput(latin1), 400, 'INVALID_INPUT')).toMatch(/not valid UTF-8/);
  });

  it("maps tritonclient's timeout and priority parameters, and refuses bad ones", async () => {
    const ok = tritonRequestBody({ ...pixels(1, false), parameters: { timeout: 5_000_000, priority: 1 } }, false);
    expect((await infer(ok.body)).status).toBe(200);
    const badTimeout = tritonRequestBody({ ...pixels(1, false), parameters: { timeout: -5 } }, false);
    expectError(await infer(badTimeout.body), 400, 'INVALID_INPUT');
    const badPriority = tritonRequestBody({ ...pixels(1, false), parameters: { priority: 9 } }, false);
    expectError(await infer(badPriority.body), 400, 'INVALID_INPUT');
    const badClasses = tritonRequestBody(
      { ...pixels(1, false), outputs: [{ name: 'probabilities', classification: 0.5 }] },
      false,
    );
    expectError(await infer(badClasses.body), 400, 'INVALID_INPUT');
  });
});
