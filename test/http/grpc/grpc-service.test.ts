import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, createLocalRegistry, loadModel, silentLogger, type Model, type ServableModel } from 'modelship';
import { serveGrpc, type ModelshipGrpcServer } from 'modelship/node';
import { digitImage, IMAGE_SIZE } from '../../../examples/shared/mnist-data.js';
import { writeOnnxModel } from '../../../examples/shared/onnx-writer.js';
import { wrap } from '../../helpers/deployments.js';
import { multiInputModel, tempDir, tinyMnist } from '../../helpers/models.js';
import { failure, grpc, grpcClient, type TestClient } from './grpc-client.js';

/** BYTES in, BYTES out (Identity on strings). */
function echoModel(): Uint8Array {
  return writeOnnxModel({
    name: 'echo',
    inputs: [{ name: 'text', type: 'string', shape: ['batch'] }],
    outputs: [{ name: 'text_out', type: 'string', shape: ['batch'] }],
    nodes: [{ op: 'Identity', inputs: ['text'], outputs: ['text_out'] }],
  });
}

function rawFloats(values: number[][]): Buffer {
  return Buffer.from(new Float32Array(values.flat()).buffer);
}

function lengthPrefixed(values: string[]): Buffer {
  return Buffer.concat(
    values.flatMap((v) => {
      const bytes = Buffer.from(v, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32LE(bytes.length);
      return [length, bytes];
    }),
  );
}

describe('OIP v2 gRPC service (inference.GRPCInferenceService) on a real port', () => {
  let server: ModelshipGrpcServer;
  let client: TestClient;
  let mnist: Model;
  const seen: Array<{ deadlineMs?: number; signal?: AbortSignal; priority?: string }> = [];
  let aborted: Promise<void>;
  const { test } = tinyMnist();
  const digits = [0, 1, 2, 3].map((i) => digitImage(test, i));

  beforeAll(async () => {
    const registry = createLocalRegistry({ root: await tempDir() });
    await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, aliases: ['production'] });
    await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx });
    mnist = await loadModel('mnist@production', { registry, logger: silentLogger });
    const mnist2 = await loadModel('mnist/2', { registry, logger: silentLogger });
    const multi = await loadModel(multiInputModel(), { name: 'multi', version: '1', logger: silentLogger });
    const echo = await loadModel(echoModel(), { name: 'echo', version: '1', logger: silentLogger });
    let onAbort!: () => void;
    aborted = new Promise((resolve) => (onAbort = resolve));
    // Records what predict receives; 'probe' answers at once, except for 2 rows, which wait for the abort.
    const probe: ServableModel = {
      ...wrap(mnist, (input, options) => {
        seen.push({ ...options });
        const rows = (input as unknown as { pixels: { shape: number[] } }).pixels.shape[0];
        if (rows !== 2) return mnist.predict(input, options);
        return new Promise((_, reject) =>
          options?.signal?.addEventListener('abort', () => {
            onAbort();
            reject(options.signal?.reason);
          }),
        );
      }),
      name: 'probe',
      state: 'ready',
    };
    await Promise.all([mnist.ready(), mnist2.ready(), multi.ready(), echo.ready()]);
    const handler = createHandler({ models: [mnist, mnist2, multi, echo, probe], logger: silentLogger });
    server = await serveGrpc(handler, { port: 0, host: '127.0.0.1', maxReceiveMessageLength: 256 * 1024 });
    client = grpcClient(`127.0.0.1:${server.port}`);
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
  });

  it('answers health and metadata as the protocol defines them', async () => {
    expect(server.url).toBe(`grpc://127.0.0.1:${server.port}`);
    expect(await client.call('ServerLive', {})).toEqual({ live: true });
    expect(await client.call('ServerReady', {})).toEqual({ ready: true });
    expect(await client.call('ModelReady', { name: 'mnist' })).toEqual({ ready: true });
    expect(await client.call('ModelReady', { name: 'mnist', version: '2' })).toEqual({ ready: true });
    const meta = await client.call('ServerMetadata', {});
    expect(meta.name).toBe('modelship');
    // The server's extensions, as Triton lists them on both endpoints.
    expect(meta.extensions).toEqual(['binary_tensor_data', 'classification', 'model_configuration', 'statistics']);
    const model = await client.call('ModelMetadata', { name: 'mnist' });
    expect(model).toEqual({
      name: 'mnist',
      versions: ['1', '2'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, IMAGE_SIZE] }],
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 10] },
        { name: 'label', datatype: 'INT64', shape: [-1] },
      ],
    });
    expect((await client.call('ModelMetadata', { name: 'mnist', version: '2' })).versions).toEqual(['2']);
  });

  it('runs ModelInfer with raw_input_contents and answers raw_output_contents, id echoed', async () => {
    const answer = await client.call('ModelInfer', {
      model_name: 'mnist',
      id: 'req-7',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [4, IMAGE_SIZE] }],
      raw_input_contents: [rawFloats(digits)],
    });
    const local = await mnist.predict(digits);
    expect(answer.model_name).toBe('mnist');
    expect(answer.model_version).toBe('1');
    expect(answer.id).toBe('req-7');
    expect(answer.outputs.map((o: { name: string }) => o.name)).toEqual(['probabilities', 'label']);
    expect(answer.outputs[1]).toMatchObject({ datatype: 'INT64', shape: [4] });
    const raw = answer.raw_output_contents as Buffer[];
    const labels = new BigInt64Array(new Uint8Array(raw[1]!).buffer);
    expect([...labels]).toEqual([...(local.label!.data as BigInt64Array)]);
    const probs = new Float32Array(new Uint8Array(raw[0]!).buffer);
    expect([...probs]).toEqual([...(local.probabilities!.data as Float32Array)]);
    expect(labels.filter((l, i) => Number(l) === test.labels[i]).length).toBeGreaterThanOrEqual(3);
  });

  it('runs ModelInfer with typed contents, answers contents, and no id when none was sent', async () => {
    const answer = await client.call('ModelInfer', {
      model_name: 'mnist',
      model_version: '2',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, IMAGE_SIZE], contents: { fp32_contents: digits[0] } }],
      outputs: [{ name: 'label' }],
    });
    expect(answer.model_version).toBe('2');
    expect(answer.id).toBe('');
    expect(answer.raw_output_contents).toEqual([]);
    expect(answer.outputs).toHaveLength(1);
    expect(answer.outputs[0]).toMatchObject({ name: 'label', datatype: 'INT64', shape: [1] });
    const local = await mnist.predict([digits[0]!]);
    expect(answer.outputs[0].contents.int64_contents).toEqual([Number(local.label!.data[0])]);
  });

  it('carries INT64, BOOL, UINT8 and FP32 inputs in contents and in raw form alike', async () => {
    const inputs = [
      { name: 'features', datatype: 'FP32', shape: [2, 3] },
      { name: 'ids', datatype: 'INT64', shape: [2] },
      { name: 'mask', datatype: 'BOOL', shape: [2, 2] },
      { name: 'fixed', datatype: 'FP32', shape: [2, 2] },
      { name: 'flags', datatype: 'UINT8', shape: [2] },
    ];
    const values = {
      features: [0.5, 1, 1.5, 2, 2.5, 3],
      ids: [7, -9007199254740991],
      mask: [true, false, false, true],
      fixed: [1, 2, 3, 4],
      flags: [0, 255],
    };
    const typed = await client.call('ModelInfer', {
      model_name: 'multi',
      inputs: [
        { ...inputs[0], contents: { fp32_contents: values.features } },
        { ...inputs[1], contents: { int64_contents: values.ids } },
        { ...inputs[2], contents: { bool_contents: values.mask } },
        { ...inputs[3], contents: { fp32_contents: values.fixed } },
        { ...inputs[4], contents: { uint_contents: values.flags } },
      ],
    });
    const byName = Object.fromEntries(typed.outputs.map((o: any) => [o.name, o]));
    expect(byName.features_out.contents.fp32_contents).toEqual(values.features);
    expect(byName.ids_out.contents.int64_contents).toEqual(values.ids);
    expect(byName.mask_out.contents.bool_contents).toEqual(values.mask);
    expect(byName.flags_out.contents.uint_contents).toEqual(values.flags);

    const raw = await client.call('ModelInfer', {
      model_name: 'multi',
      inputs,
      raw_input_contents: [
        Buffer.from(new Float32Array(values.features).buffer),
        Buffer.from(new BigInt64Array(values.ids.map(BigInt)).buffer),
        Buffer.from([1, 0, 0, 1]),
        Buffer.from(new Float32Array(values.fixed).buffer),
        Buffer.from(values.flags),
      ],
    });
    const names = raw.outputs.map((o: { name: string }) => o.name);
    const blob = (n: string): Uint8Array => new Uint8Array(raw.raw_output_contents[names.indexOf(n)]);
    expect([...new BigInt64Array(blob('ids_out').buffer)]).toEqual(values.ids.map(BigInt));
    expect([...blob('mask_out')]).toEqual([1, 0, 0, 1]);
    expect([...new Float32Array(blob('features_out').buffer)]).toEqual(values.features);
  });

  it('carries BYTES tensors as bytes_contents and as length-prefixed raw contents', async () => {
    const words = ['héllo', '', 'wörld ✓'];
    const typed = await client.call('ModelInfer', {
      model_name: 'echo',
      inputs: [
        { name: 'text', datatype: 'BYTES', shape: [3], contents: { bytes_contents: words.map((w) => Buffer.from(w)) } },
      ],
    });
    expect(typed.outputs[0].datatype).toBe('BYTES');
    expect(typed.outputs[0].contents.bytes_contents.map((b: Buffer) => b.toString('utf8'))).toEqual(words);
    const raw = await client.call('ModelInfer', {
      model_name: 'echo',
      inputs: [{ name: 'text', datatype: 'BYTES', shape: [3] }],
      raw_input_contents: [lengthPrefixed(words)],
    });
    expect(Buffer.from(raw.raw_output_contents[0])).toEqual(lengthPrefixed(words));
  });

  it('reads InferParameter maps: the classification extension answers the top classes as BYTES', async () => {
    const answer = await client.call('ModelInfer', {
      model_name: 'mnist',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, IMAGE_SIZE] }],
      outputs: [{ name: 'probabilities', parameters: { classification: { int64_param: 2 } } }],
      raw_input_contents: [rawFloats(digits.slice(0, 1))],
    });
    expect(answer.outputs).toEqual([
      expect.objectContaining({ name: 'probabilities', datatype: 'BYTES', shape: [1, 2] }),
    ]);
    const local = await mnist.predict([digits[0]!]);
    const top = Number(local.label!.data[0]);
    const text = Buffer.from(answer.raw_output_contents[0]).subarray(4).toString('utf8');
    expect(text).toMatch(new RegExp(`^[0-9.e-]+:${top}`));
  });

  it('answers ModelConfig and cumulative ModelStatistics in Triton’s form', async () => {
    const { config } = await client.call('ModelConfig', { name: 'mnist' });
    expect(config.name).toBe('mnist');
    expect(config.platform).toBe('onnxruntime_onnx');
    expect(config.input[0]).toMatchObject({ name: 'pixels', data_type: 'TYPE_FP32' });
    expect(config.output.map((o: { name: string }) => o.name)).toEqual(['probabilities', 'label']);
    const before = await client.call('ModelStatistics', { name: 'mnist', version: '1' });
    const count = before.model_stats[0].inference_stats.success.count;
    await client.call('ModelInfer', {
      model_name: 'mnist',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [2, IMAGE_SIZE] }],
      raw_input_contents: [rawFloats(digits.slice(0, 2))],
    });
    const after = await client.call('ModelStatistics', { name: 'mnist', version: '1' });
    const stat = after.model_stats[0];
    expect(stat).toMatchObject({ name: 'mnist', version: '1' });
    expect(stat.inference_stats.success.count).toBe(count + 1);
    expect(stat.inference_stats.success.ns).toBeGreaterThan(0);
    expect(stat.last_inference).toBeGreaterThan(0);
    const all = await client.call('ModelStatistics', {});
    expect(all.model_stats.map((s: { name: string }) => s.name)).toContain('echo');
  });

  it('maps modelship errors to gRPC status codes, with the code in the x-modelship-error-code trailer', async () => {
    const unknown = await failure(client.call('ModelInfer', { model_name: 'nope', inputs: [] }));
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
    expect(unknown.details).toContain('No model named "nope"');
    expect(unknown.metadata.get('x-modelship-error-code')).toEqual(['MODEL_NOT_FOUND']);
    const version = await failure(client.call('ModelReady', { name: 'mnist', version: '9' }));
    expect(version.code).toBe(grpc.status.NOT_FOUND);
    expect(version.metadata.get('x-modelship-error-code')).toEqual(['VERSION_NOT_FOUND']);
    const datatype = await failure(
      client.call('ModelInfer', {
        model_name: 'mnist',
        inputs: [{ name: 'pixels', datatype: 'FP64', shape: [1, IMAGE_SIZE] }],
        raw_input_contents: [Buffer.alloc(8 * IMAGE_SIZE)],
      }),
    );
    expect(datatype.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(datatype.details).toContain('expects datatype FP32');
    const unimplemented = await failure(
      new Promise((resolve, reject) =>
        client.inference.makeUnaryRequest(
          '/inference.GRPCInferenceService/RepositoryModelLoad',
          () => Buffer.alloc(0),
          (b: Buffer) => b,
          {},
          (e, r) => (e ? reject(e) : resolve(r)),
        ),
      ),
    );
    expect(unimplemented.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it('refuses hostile raw contents and shapes with INVALID_ARGUMENT, and the server keeps serving', async () => {
    const infer = (request: object) => failure(client.call('ModelInfer', { model_name: 'mnist', ...request }));
    const pixels = { name: 'pixels', datatype: 'FP32', shape: [1, IMAGE_SIZE] };
    const cases: Array<[object, string]> = [
      // Truncated: one float short.
      [{ inputs: [pixels], raw_input_contents: [Buffer.alloc(4 * IMAGE_SIZE - 4)] }, 'needs 3136 bytes'],
      // The shape says 1000 × 1000 rows, the bytes are one row.
      [
        { inputs: [{ ...pixels, shape: [1000, 1000] }], raw_input_contents: [Buffer.alloc(4 * IMAGE_SIZE)] },
        'needs 4000000 bytes',
      ],
      [{ inputs: [pixels], raw_input_contents: [Buffer.alloc(4), Buffer.alloc(4)] }, 'one entry per input'],
      [
        {
          inputs: [{ ...pixels, contents: { fp32_contents: [1] } }],
          raw_input_contents: [Buffer.alloc(4 * IMAGE_SIZE)],
        },
        'both set',
      ],
      [{ inputs: [{ ...pixels, contents: { fp32_contents: [1, 2] } }] }, 'the shape needs 784 values'],
      [{ inputs: [{ ...pixels, name: 'half', datatype: 'FP16' }] }, 'FP16 has no typed contents field'],
      [{ inputs: [{ ...pixels, datatype: 'NOPE' }] }, 'datatype must be one of'],
      [{ inputs: [] }, 'non-empty array'],
      [{ inputs: [pixels, pixels], raw_input_contents: [Buffer.alloc(3136), Buffer.alloc(3136)] }, 'given twice'],
      [{ inputs: [pixels], outputs: [{ name: 'nope' }], raw_input_contents: [Buffer.alloc(3136)] }, 'nope'],
    ];
    for (const [request, message] of cases) {
      const error = await infer(request);
      expect(error.code, message).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error.details).toContain(message);
    }
    const bytes = await failure(
      client.call('ModelInfer', {
        model_name: 'echo',
        inputs: [{ name: 'text', datatype: 'BYTES', shape: [1] }],
        raw_input_contents: [Buffer.from([5, 0, 0, 0, 104, 105])],
      }),
    );
    expect(bytes.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bytes.details).toContain('only 2 bytes are left');
    expect(await client.call('ServerLive', {})).toEqual({ live: true });
  });

  it('refuses a message over maxReceiveMessageLength with RESOURCE_EXHAUSTED', async () => {
    const rows = 100; // 313 KB of pixels, over the 256 KiB limit
    const error = await failure(
      client.call('ModelInfer', {
        model_name: 'mnist',
        inputs: [{ name: 'pixels', datatype: 'FP32', shape: [rows, IMAGE_SIZE] }],
        raw_input_contents: [Buffer.alloc(rows * IMAGE_SIZE * 4)],
      }),
    );
    expect(error.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(await client.call('ServerLive', {})).toEqual({ live: true });
  });

  it('passes the call deadline, priority and routing key to predict, and cancellation as an abort', async () => {
    const request = (rows: number) => ({
      model_name: 'probe',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [rows, IMAGE_SIZE] }],
      raw_input_contents: [rawFloats(digits.slice(0, rows))],
    });
    const metadata = new grpc.Metadata();
    metadata.set('x-modelship-priority', 'high');
    seen.length = 0;
    await client.call('ModelInfer', request(1), { metadata, deadline: new Date(Date.now() + 30_000) });
    expect(seen[0]!.deadlineMs).toBeGreaterThan(0);
    expect(seen[0]!.deadlineMs).toBeLessThanOrEqual(30_000);
    expect(seen[0]!.priority).toBe('high');
    const { call, answer } = client.start('ModelInfer', request(2));
    const settled = answer.catch((e: grpc.ServiceError) => e);
    // Cancel once the request is inside predict.
    while (seen.length < 2) await new Promise((r) => setImmediate(r));
    call.cancel();
    await aborted;
    expect(seen[1]!.signal?.aborted).toBe(true);
    expect(((await settled) as grpc.ServiceError).code).toBe(grpc.status.CANCELLED);
  });

  it('answers grpc.health.v1 Check: SERVING for the server and the inference service, NOT_FOUND otherwise', async () => {
    expect(await client.check('')).toEqual({ status: 'SERVING' });
    expect(await client.check('inference.GRPCInferenceService')).toEqual({ status: 'SERVING' });
    const error = await failure(client.check('other.Service'));
    expect(error.code).toBe(grpc.status.NOT_FOUND);
  });
});
