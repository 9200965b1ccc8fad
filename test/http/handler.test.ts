import { Agent, request as httpRequest } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, createLocalRegistry, loadModel, silentLogger, type Model, type ServableModel } from 'modelship';
import { serve, type ModelshipServer } from 'modelship/node';
import { IMAGE_SIZE, digitImage } from '../../examples/shared/mnist-data.js';
import { wrap } from '../helpers/deployments.js';
import { call, postJson, streamUntilAnswered } from '../helpers/http.js';
import { addOneModel, multiInputModel, slowModel, tempDir, tinyMnist } from '../helpers/models.js';

describe('HTTP handler on a real node:http server', () => {
  let server: ModelshipServer;
  let base: string;
  let mnist: Model;
  let mnist2: Model;
  let multi: Model;
  const { test } = tinyMnist();
  const digits = [0, 1, 2, 3, 4].map((i) => digitImage(test, i));

  beforeAll(async () => {
    const registry = createLocalRegistry({ root: await tempDir() });
    await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, aliases: ['production'] });
    await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx });
    mnist = await loadModel('mnist@production', { registry });
    mnist2 = await loadModel('mnist/2', { registry });
    multi = await loadModel(multiInputModel(), { name: 'multi', version: '1' });
    await Promise.all([mnist.ready(), mnist2.ready(), multi.ready()]);
    const handler = createHandler({ models: [mnist, mnist2, multi], maxBodyBytes: 64 * 1024, logger: silentLogger });
    server = await serve(handler, { port: 0, host: '127.0.0.1' });
    base = server.url;
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers POST /predict with correct predictions for real test digits', async () => {
    const res = await postJson(`${base}/predict`, { inputs: digits });
    expect(res.status).toBe(200);
    expect(res.body.model).toBe('mnist');
    expect(res.body.version).toBe('1');
    const local = await mnist.predict(digits);
    expect(res.body.outputs.label).toEqual(local.label?.toArray());
    expect(res.body.outputs.probabilities).toHaveLength(5);
    const correct = (res.body.outputs.label as number[]).filter((l, i) => l === test.labels[i]).length;
    expect(correct).toBeGreaterThanOrEqual(4);
  });

  it('serves named models and versions', async () => {
    const byName = await postJson(`${base}/models/mnist/predict`, { inputs: { pixels: digits.slice(0, 1) } });
    expect(byName.status).toBe(200);
    const v2 = await postJson(`${base}/models/mnist/versions/2/predict`, {
      inputs: digits.slice(0, 1),
      outputs: ['label'],
    });
    expect(v2.body.version).toBe('2');
    expect(Object.keys(v2.body.outputs)).toEqual(['label']);
    const list = await call(`${base}/models`);
    expect(list.body.models.map((m: { name: string; version: string }) => `${m.name}/${m.version}`)).toEqual([
      'mnist/1',
      'mnist/2',
      'multi/1',
    ]);
  });

  it('round-trips the Open Inference Protocol (KServe v2)', async () => {
    const flat = digits.slice(0, 2).flat();
    const res = await postJson(`${base}/v2/models/mnist/infer`, {
      id: 'req-1',
      inputs: [{ name: 'pixels', shape: [2, IMAGE_SIZE], datatype: 'FP32', data: flat }],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ model_name: 'mnist', model_version: '1', id: 'req-1' });
    const byName: Record<string, any> = Object.fromEntries(
      (res.body.outputs as Array<{ name: string }>).map((o) => [o.name, o]),
    );
    expect(byName.probabilities).toMatchObject({ datatype: 'FP32', shape: [2, 10] });
    expect(byName.probabilities.data).toHaveLength(20);
    const local = await mnist.predict(digits.slice(0, 2));
    expect(byName.label).toEqual({ name: 'label', datatype: 'INT64', shape: [2], data: local.label?.toArray() });

    const nested = await postJson(`${base}/v2/models/mnist/versions/2/infer`, {
      inputs: [{ name: 'pixels', shape: [1, IMAGE_SIZE], datatype: 'FP32', data: [digits[0]] }],
      outputs: [{ name: 'label' }],
    });
    expect(nested.status).toBe(200);
    expect(nested.body.model_version).toBe('2');
    expect(nested.body.outputs).toEqual([
      { name: 'label', datatype: 'INT64', shape: [1], data: [local.label?.toFlatArray()[0]] },
    ]);
    // OIP echoes an id only when the request had one (issue 22: no invented UUID).
    expect(nested.body).not.toHaveProperty('id');
  });

  it('round-trips every OIP datatype of a multi-input model', async () => {
    const res = await postJson(`${base}/v2/models/multi/infer`, {
      inputs: [
        { name: 'features', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] },
        { name: 'ids', shape: [2], datatype: 'INT64', data: [7, 9007199254740991] },
        {
          name: 'mask',
          shape: [2, 2],
          datatype: 'BOOL',
          data: [
            [true, false],
            [false, true],
          ],
        },
        { name: 'fixed', shape: [2, 2], datatype: 'FP32', data: [0.5, 1.5, 2.5, 3.5] },
        { name: 'flags', shape: [2], datatype: 'UINT8', data: [0, 255] },
      ],
    });
    expect(res.status).toBe(200);
    const out = Object.fromEntries(
      (res.body.outputs as Array<{ name: string; data: unknown }>).map((o) => [o.name, o.data]),
    );
    expect(out).toEqual({
      features_out: [1, 2, 3, 4, 5, 6],
      ids_out: [7, 9007199254740991],
      mask_out: [true, false, false, true],
      fixed_out: [0.5, 1.5, 2.5, 3.5],
      flags_out: [0, 255],
    });
  });

  it('describes models in v2 metadata and reports health', async () => {
    const meta = await call(`${base}/v2/models/mnist`);
    expect(meta.body).toEqual({
      name: 'mnist',
      versions: ['1', '2'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 784] }],
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 10] },
        { name: 'label', datatype: 'INT64', shape: [-1] },
      ],
    });
    expect((await call(`${base}/v2/models/mnist/versions/2`)).body.versions).toEqual(['2']);
    expect((await call(`${base}/v2/models/mnist/ready`)).status).toBe(200);
    expect((await call(`${base}/v2/health/live`)).status).toBe(200);
    expect((await call(`${base}/v2/health/ready`)).body).toEqual({ ready: true });
    expect((await call(`${base}/v2`)).body.name).toBe('modelship');
    expect((await call(`${base}/healthz`)).body).toEqual({ status: 'ok' });
    const ready = await call(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ready');
  });

  const errors: Array<[string, () => ReturnType<typeof call>, number, string, RegExp?]> = [
    [
      'malformed JSON',
      () =>
        call(`${base}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"inputs": [',
        }),
      400,
      'MALFORMED_REQUEST',
      /not valid JSON/,
    ],
    [
      'empty body',
      () => call(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' } }),
      400,
      'MALFORMED_REQUEST',
    ],
    ['no inputs field', () => postJson(`${base}/predict`, { instances: [] }), 400, 'INVALID_INPUT', /"inputs"/],
    [
      'bad value',
      () => postJson(`${base}/predict`, { inputs: [[...digits[0]!.slice(0, 17), 'x', ...digits[0]!.slice(18)]] }),
      400,
      'INVALID_INPUT',
      /^pixels\[0\]\[17\]: expected number, got "x"\.$/,
    ],
    [
      'wrong width',
      () => postJson(`${base}/predict`, { inputs: [[1, 2, 3]] }),
      400,
      'INVALID_INPUT',
      /dimension 1 must be 784/,
    ],
    [
      'unknown input',
      () => postJson(`${base}/models/multi/predict`, { inputs: { nope: [1] } }),
      400,
      'INVALID_INPUT',
      /Unknown input "nope"/,
    ],
    [
      'unknown model',
      () => postJson(`${base}/models/resnet/predict`, { inputs: [] }),
      404,
      'MODEL_NOT_FOUND',
      /available: "mnist", "multi"/,
    ],
    [
      'unknown version',
      () => postJson(`${base}/v2/models/mnist/versions/9/infer`, { inputs: [] }),
      404,
      'VERSION_NOT_FOUND',
    ],
    ['unknown route', () => call(`${base}/nope`), 404, 'ROUTE_NOT_FOUND'],
    ['wrong method', () => call(`${base}/predict`), 405, 'METHOD_NOT_ALLOWED'],
    [
      'wrong content type',
      () => call(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      /application\/json/,
    ],
    [
      'form post (curl -d without -H)',
      () =>
        call(`${base}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'a=1',
        }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'declared body over the limit',
      () => postJson(`${base}/predict`, { inputs: [Array(20000).fill(0.5)] }),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    [
      'OIP datatype mismatch',
      () =>
        postJson(`${base}/v2/models/mnist/infer`, {
          inputs: [{ name: 'pixels', shape: [1, 784], datatype: 'INT64', data: Array(784).fill(0) }],
        }),
      400,
      'INVALID_INPUT',
      /expects datatype FP32, got INT64/,
    ],
    [
      'OIP shape/data mismatch',
      () =>
        postJson(`${base}/v2/models/mnist/infer`, {
          inputs: [{ name: 'pixels', shape: [2, 784], datatype: 'FP32', data: Array(784).fill(0) }],
        }),
      400,
      'INVALID_INPUT',
      /needs 1568 values, got 784/,
    ],
    [
      'OIP bad datatype',
      () =>
        postJson(`${base}/v2/models/mnist/infer`, {
          inputs: [{ name: 'pixels', shape: [1, 784], datatype: 'FLOAT', data: [] }],
        }),
      400,
      'INVALID_INPUT',
      /datatype must be one of/,
    ],
    ['OIP missing inputs', () => postJson(`${base}/v2/models/mnist/infer`, {}), 400, 'INVALID_INPUT'],
    [
      'OIP unknown output',
      () =>
        postJson(`${base}/v2/models/mnist/infer`, {
          inputs: [{ name: 'pixels', shape: [1, 784], datatype: 'FP32', data: digits[0] }],
          outputs: [{ name: 'logits' }],
        }),
      400,
      'INVALID_INPUT',
      /Unknown output "logits"/,
    ],
  ];

  it.each(errors)('%s', async (_label, send, status, code, message) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toContain('application/json');
    // OIP routes answer {"error": "<message>", "code"}; the simple API {"error": {"code", "message"}}.
    const error =
      typeof res.body.error === 'string' ? { code: res.body.code, message: res.body.error } : res.body.error;
    expect(error.code).toBe(code);
    if (message) expect(error.message).toMatch(message);
    const text = JSON.stringify(res.body);
    expect(text).not.toMatch(/\n\s+at |\/tmp\/|node_modules|\.ts:/);
  });

  it('sends Allow with 405', async () => {
    const res = await call(`${base}/v2/models/mnist/infer`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('enforces the body limit while reading: answers 413 to a body that never ends', async () => {
    const chunk = new TextEncoder().encode('[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5],'.repeat(256));
    const res = await streamUntilAnswered(`${base}/predict`, chunk);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(res.sent).toBeLessThan(64 * 1024 * 1024);
  });
});

describe('readiness and shutdown', () => {
  /** Wraps a model so a test controls when warm-up ends and when predictions may proceed. */
  function gated(model: Model): {
    servable: ServableModel;
    warm(): void;
    open(): void;
    waitFor(n: number): Promise<void>;
  } {
    let warm = false;
    let release!: () => void;
    const opened = new Promise<void>((r) => (release = r));
    let count = 0;
    const waiters: Array<[number, () => void]> = [];
    const servable: ServableModel = {
      name: model.name,
      version: model.version,
      signature: model.signature,
      platform: model.platform,
      metadata: model.metadata,
      get state() {
        return warm ? model.state : 'warming';
      },
      async predict(input, options) {
        count++;
        for (const [n, resolve] of waiters) if (count >= n) resolve();
        await opened;
        return model.predict(input, options);
      },
      ready: () => model.ready(),
      close: () => model.close(),
    };
    return {
      servable,
      warm: () => (warm = true),
      open: release,
      waitFor: (n) => new Promise<void>((r) => (count >= n ? r() : waiters.push([n, r]))),
    };
  }

  it('answers 503 on /readyz and v2 ready until every model is warm', async () => {
    const model = await loadModel(addOneModel(), { name: 'slow', version: '1' });
    await model.ready();
    const g = gated(model);
    const handler = createHandler({ models: [g.servable], logger: silentLogger });
    const status = async (path: string): Promise<number> => (await handler(new Request(`http://x${path}`))).status;
    expect(await status('/readyz')).toBe(503);
    expect(await status('/v2/health/ready')).toBe(503);
    expect(await status('/v2/models/slow/ready')).toBe(503);
    expect(await status('/healthz')).toBe(200);
    g.warm();
    expect(await status('/readyz')).toBe(200);
    expect(await status('/v2/models/slow/ready')).toBe(200);
    await handler.close();
    expect(model.state).toBe('closed');
  });

  it('close() finishes in-flight requests, then stops accepting and closes the models', async () => {
    const model = await loadModel(addOneModel(), { name: 'adder', version: '1' });
    await model.ready();
    const g = gated(model);
    g.warm();
    const server = await serve(createHandler({ models: [g.servable], logger: silentLogger }), {
      port: 0,
      host: '127.0.0.1',
    });
    const inflight = Array.from({ length: 10 }, (_, i) =>
      postJson(`${server.url}/predict`, { inputs: [[i, 0, 0, 0]] }),
    );
    await g.waitFor(10); // all ten requests are inside the handler
    const closed = server.close();
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow(); // no new connections
    g.open();
    const results = await Promise.all(inflight);
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(results.map((r) => r.body.outputs.y[0][0])).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    await closed;
    expect(model.state).toBe('closed');
  });

  it('aborts the signal a prediction gets when its client disconnects, and not when a keep-alive connection carries on', async () => {
    const model = await loadModel(addOneModel(), { name: 'adder', version: '1' });
    await model.ready();
    const signals: AbortSignal[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const servable = wrap(model, async (input, options) => {
      signals.push(options?.signal as AbortSignal);
      if (signals.length === 3) await held; // the third request waits until its client has gone
      return model.predict(input, options);
    });
    const server = await serve(createHandler({ models: [servable], logger: silentLogger }), {
      port: 0,
      host: '127.0.0.1',
    });
    const body = JSON.stringify({ inputs: [[1, 2, 3, 4]] });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const post = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = httpRequest(
          `${server.url}/predict`,
          { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    // Two requests in turn on one keep-alive connection: both answered, neither signal aborted.
    expect(await post()).toBe(200);
    expect(await post()).toBe(200);
    expect(signals).toHaveLength(2);
    expect(signals.every((s) => s instanceof AbortSignal && !s.aborted)).toBe(true);
    // A third whose client goes away while it is being served: its signal fires.
    const third = httpRequest(`${server.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    third.on('error', () => undefined);
    third.end(body);
    while (signals.length < 3) await new Promise((r) => setImmediate(r));
    const signal = signals[2] as AbortSignal;
    expect(signal.aborted).toBe(false);
    const aborted = new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    third.destroy();
    await aborted;
    expect(signals[0]?.aborted).toBe(false); // the other connection is still open
    release();
    agent.destroy();
    await server.close();
  });

  it("does not keep a request's parsed body alive while its prediction is queued or running", async () => {
    // Held bodies survive young-generation collections under load and get promoted, which made a busy server's
    // GC several times as expensive. `predict` copies its input, so the handler has no reason to hold it.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const model = await loadModel(addOneModel(), { name: 'adder', version: '1' });
    await model.ready();
    const collected = new Set<string>();
    const registry = new FinalizationRegistry<string>((route) => collected.add(route));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started = 0;
    const servable = wrap(model, (input, options) => {
      registry.register(input as object, started++ === 0 ? 'predict' : 'v2');
      const result = model.predict(input, options);
      return held.then(() => result);
    });
    const server = await serve(createHandler({ models: [servable], logger: silentLogger }), {
      port: 0,
      host: '127.0.0.1',
    });
    const answers = [
      postJson(`${server.url}/predict`, { inputs: [[1, 2, 3, 4]] }),
      postJson(`${server.url}/v2/models/adder/infer`, {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
      }),
    ];
    while (started < 2) await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 20 && collected.size < 2; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect([...collected].sort()).toEqual(['predict', 'v2']);
    release();
    const [plain, v2] = await Promise.all(answers);
    expect(plain?.status).toBe(200);
    expect(plain?.body.outputs.y).toEqual([[2, 3, 4, 5]]);
    expect(v2?.status).toBe(200);
    await server.close();
  });

  it('refuses invalid handler options', () => {
    expect(() => createHandler({ models: [] })).toThrow(/INVALID_OPTIONS|at least one model/);
    expect(() => createHandler({ models: [{} as never] })).toThrow(/loaded model/);
  });

  it('refuses bad serve options and a port in use with typed errors', async () => {
    const model = await loadModel(addOneModel(), { name: 'adder', version: '1' });
    const handler = createHandler({ models: [model], logger: silentLogger });
    await expect(serve(handler, { port: -1 })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    const first = await serve(handler, { port: 0, host: '127.0.0.1' });
    await expect(serve(handler, { port: first.port, host: '127.0.0.1' })).rejects.toMatchObject({
      code: 'ADDRESS_IN_USE',
      message: expect.stringContaining(`Port ${first.port} is already in use`),
    });
    await first.close();
  });

  it('serves under a base path', async () => {
    const model = await loadModel(addOneModel(), { name: 'adder', version: '1' });
    const handler = createHandler({ models: [model], basePath: '/api', logger: silentLogger });
    const res = await handler(
      new Request('http://x/api/predict', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [[1, 1, 1, 1]] }),
      }),
    );
    expect(res.status).toBe(200);
    expect(await handler.handle(new Request('http://x/predict', { method: 'POST' }))).toBeUndefined();
    await handler.close();
  });
});

describe('backpressure over HTTP', () => {
  let server: ModelshipServer;
  let model: Model;
  const big = { inputs: { x: { data: new Array(2048 * 512).fill(1), shape: [2048, 512] } } };

  beforeAll(async () => {
    // One worker, no batching, room for one waiting request: the second request queues, the third is refused.
    model = await loadModel(slowModel(), {
      name: 'slow',
      version: '1',
      workers: 1,
      batching: { enabled: false, maxQueueSize: 1 },
    });
    await model.ready();
    server = await serve(createHandler({ models: [model], maxBodyBytes: 64 * 1024 * 1024, logger: silentLogger }), {
      port: 0,
      host: '127.0.0.1',
    });
  });
  afterAll(async () => {
    await server.close();
  });

  async function untilRunning(): Promise<void> {
    while (model.stats().running === 0) await new Promise((r) => setImmediate(r));
  }

  it('answers 429 QUEUE_FULL with Retry-After when the queue is full, 504 when a deadline passes in the queue, and serves the rest', async () => {
    const running = postJson(`${server.url}/predict`, big);
    await untilRunning();
    const late = postJson(
      `${server.url}/predict`,
      { inputs: { x: [new Array(512).fill(1)] } },
      { 'x-modelship-deadline-ms': '20' },
    );
    const lateRes = await late;
    expect(lateRes.status).toBe(504);
    expect(lateRes.body.error).toMatchObject({ code: 'DEADLINE_EXCEEDED', details: { queued: true, deadlineMs: 20 } });

    const queued = postJson(
      `${server.url}/predict`,
      { inputs: { x: [new Array(512).fill(3)] } },
      { 'x-modelship-priority': 'high' },
    );
    while (model.stats().queueDepth === 0) await new Promise((r) => setImmediate(r));
    const refused = await postJson(`${server.url}/predict`, { inputs: { x: [new Array(512).fill(1)] } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body.error).toMatchObject({ code: 'QUEUE_FULL', details: { maxQueueSize: 1 } });

    expect((await running).status).toBe(200);
    const answered = await queued;
    expect(answered.status).toBe(200);
    expect(answered.body.outputs.y[0].slice(0, 2)).toEqual([3, 3]);
  }, 120_000);

  it('refuses bad deadline and priority headers with 400 INVALID_ARGUMENT', async () => {
    const body = { inputs: { x: [new Array(512).fill(1)] } };
    const cases: Record<string, string>[] = [
      { 'x-modelship-deadline-ms': 'soon' },
      { 'x-modelship-deadline-ms': '-5' },
      { 'x-modelship-priority': 'urgent' },
    ];
    for (const headers of cases) {
      const res = await postJson(`${server.url}/predict`, body, headers);
      expect(res.status, JSON.stringify(headers)).toBe(400);
      expect(res.body.error.code).toBe('INVALID_ARGUMENT');
    }
  });
});
