/**
 * The handler's built-in observability on a real server with a real MNIST model: `metrics: true` answers
 * GET /metrics in Prometheus' text format (the OTel SDK loaded lazily), the access log writes ECS lines through
 * the logger, payload logging hands request/answer bodies to a sink or a file, cut at maxBytes. Hostile: other
 * methods on /metrics, secrets in headers and query strings, a failing sink, bad options.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { metrics } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, loadModel, type Model } from 'modelship';
import { serve, type ModelshipServer } from 'modelship/node';
import { IMAGE_SIZE } from '../../examples/shared/mnist-data.js';
import { createEcsLogger } from '../../src/telemetry/ecs-logger.js';
import { createPayloadFileSink } from '../../src/http/node/payload-file-sink.js';
import type { PayloadRecord } from '../../src/http/observe-options.js';
import { call, postJson } from '../helpers/http.js';
import { tempDir, tinyMnist } from '../helpers/models.js';

type Line = Record<string, unknown>;
const run = promisify(execFile);

describe('metrics: true, accessLog and payloadLog on a real server', () => {
  let model: Model;
  let server: ModelshipServer;
  const lines: Line[] = [];
  const records: PayloadRecord[] = [];
  let pixels: number[];

  beforeAll(async () => {
    pixels = Array.from(tinyMnist().test.images.subarray(0, IMAGE_SIZE));
    model = await loadModel(tinyMnist().onnx, { name: 'mnist', version: '4' });
    await model.ready();
    const logger = createEcsLogger({ serviceName: 'mnist-api', write: (s) => lines.push(JSON.parse(s) as Line) });
    const handler = createHandler({
      models: [model],
      logger,
      metrics: { serviceName: 'mnist-api' },
      accessLog: true,
      payloadLog: { sink: (r) => void records.push(r), maxBytes: 1024 },
    });
    server = await serve(handler, { port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('serves the request counter and latency histogram in Prometheus text format', async () => {
    for (let i = 0; i < 3; i++)
      expect((await postJson(`${server.url}/predict`, { inputs: [pixels] })).status).toBe(200);
    expect((await postJson(`${server.url}/models/mnist/predict`, { inputs: [[1, 2]] })).status).toBe(400);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toMatch(
      /^modelship_requests_total\{model_name="mnist",model_version="4",outcome="success"[^}]*\} 3$/m,
    );
    expect(text).toMatch(/^modelship_requests_total\{[^}]*error_type="INVALID_INPUT"[^}]*\} 1$/m);
    expect(text).toMatch(/^modelship_request_duration_bucket\{[^}]*le="\+Inf"\} 3$/m);
    expect(text).toMatch(/^target_info\{[^}]*service_name="mnist-api"/m);
  });

  it('writes an ECS access line per request, with the model, status, duration and error code', async () => {
    const before = lines.length;
    await postJson(
      `${server.url}/models/mnist/predict?token=s3cret`,
      { inputs: [[1]] },
      {
        authorization: 'Bearer s3cret-token-value',
      },
    );
    const line = lines.slice(before).find((l) => l['event.dataset'] === 'modelship.access');
    expect(line).toMatchObject({
      'log.level': 'info',
      'service.name': 'mnist-api',
      'http.request.method': 'POST',
      'url.path': '/models/mnist/predict',
      'http.response.status_code': 400,
      'labels.model_name': 'mnist',
      'error.code': 'INVALID_INPUT',
      message: 'POST /models/mnist/predict 400',
    });
    expect(line?.['event.duration']).toBeGreaterThan(0);
    expect(Number.isInteger(line?.['event.duration'])).toBe(true);
    // Neither the bearer token nor the query string reaches a log line.
    expect(JSON.stringify(lines)).not.toContain('s3cret');
  });

  it('hands request and answer bodies to the payload sink, cut at maxBytes (the 784-pixel request is, the answer is not)', async () => {
    const before = records.length;
    const sent = JSON.stringify({ inputs: [pixels] });
    expect((await postJson(`${server.url}/models/mnist/predict`, { inputs: [pixels] })).status).toBe(200);
    const record = records.slice(before).find((r) => r.path === '/models/mnist/predict');
    expect(record).toMatchObject({ method: 'POST', model: 'mnist', status: 200 });
    expect(sent.length).toBeGreaterThan(1024);
    expect(record?.request).toEqual({ body: sent.slice(0, 1024), bytes: sent.length, truncated: true });
    expect(record?.response.truncated).toBe(false);
    expect(record?.response.bytes).toBe(record?.response.body.length);
    expect(JSON.parse(record?.response.body as string)).toHaveProperty('outputs');
    expect(record?.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers other methods on /metrics with 405 and Allow: GET', async () => {
    const res = await call(`${server.url}/metrics`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
    expect(res.body.error.code).toBe('METHOD_NOT_ALLOWED');
  });
});

describe('payload logging and metrics, the edges', () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(tinyMnist().onnx, { name: 'mnist', version: '5' });
    await model.ready();
  });
  afterAll(() => model?.close());

  it('a sink that throws or rejects is logged at warn level and never fails the request', async () => {
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (m: string) => void warnings.push(m) };
    for (const sink of [
      () => {
        throw new Error('disk gone');
      },
      () => Promise.reject(new Error('disk gone')),
    ]) {
      const handler = createHandler({ models: [model], closeModels: false, logger, payloadLog: { sink } });
      const res = await handler(new Request('http://x/healthz'));
      expect(res.status).toBe(200);
      await handler.close();
    }
    await new Promise((r) => setImmediate(r));
    expect(warnings).toEqual(['Payload logging failed: disk gone', 'Payload logging failed: disk gone']);
  });

  it('createPayloadFileSink appends one JSON line per record', async () => {
    const file = join(await tempDir('modelship-payload-'), 'payloads.jsonl');
    const sink = createPayloadFileSink(file);
    const handler = createHandler({ models: [model], closeModels: false, payloadLog: { sink, sampleRate: 1 } });
    await handler(new Request('http://x/healthz'));
    await handler(new Request('http://x/models'));
    await sink.close();
    await handler.close();
    const written = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as PayloadRecord);
    expect(written.map((r) => [r.path, r.status])).toEqual([
      ['/healthz', 200],
      ['/models', 200],
    ]);
  });

  it('a body over maxBodyBytes: refused 413, and the payload record holds none of it', async () => {
    const records: PayloadRecord[] = [];
    const handler = createHandler({
      models: [model],
      closeModels: false,
      maxBodyBytes: 1024,
      payloadLog: { sink: (r) => void records.push(r), maxBytes: 64 },
    });
    const huge = JSON.stringify({ inputs: [Array.from({ length: 50_000 }, () => 0.5)] });
    const res = await handler(
      new Request('http://x/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: huge }),
    );
    await handler.close();
    expect(res.status).toBe(413);
    expect(records).toHaveLength(1);
    expect(records[0]?.request).toEqual({ body: '', bytes: 0, truncated: false });
    expect(records[0]?.response.bytes).toBeLessThan(4096);
  });

  it('sampleRate 0 logs nothing; server errors are access-logged whatever the rate', async () => {
    const seen: Line[] = [];
    const logger = createEcsLogger({ write: (s) => seen.push(JSON.parse(s) as Line) });
    const records: PayloadRecord[] = [];
    const handler = createHandler({
      models: [model],
      closeModels: false,
      logger,
      accessLog: { sampleRate: 0 },
      payloadLog: { sink: (r) => void records.push(r), sampleRate: 0 },
    });
    await handler(new Request('http://x/healthz'));
    await handler.close();
    expect(seen.filter((l) => l['event.dataset'] === 'modelship.access')).toEqual([]);
    expect(records).toEqual([]);
  });

  it('refuses bad options with INVALID_OPTIONS naming the key', () => {
    const bad = [
      { accessLog: { sampleRate: 2 } },
      { payloadLog: { sink: 'file.jsonl' } },
      { payloadLog: { sink: () => undefined, maxBytes: 0 } },
      { metrics: { path: 'metrics' } },
      { metrics: 'yes' },
    ];
    for (const extra of bad) {
      expect(() => createHandler({ models: [model], ...(extra as object) })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS' }),
      );
    }
    expect(() => createPayloadFileSink('')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('serve(handler, { metrics: true }) answers /metrics itself and leaves other paths to the handler', async () => {
    const server = await serve(createHandler({ models: [model], closeModels: false }), {
      port: 0,
      host: '127.0.0.1',
      metrics: { serviceName: 'from-serve' },
    });
    try {
      expect(
        (
          await postJson(`${server.url}/predict`, {
            inputs: [Array.from(tinyMnist().test.images.subarray(0, IMAGE_SIZE))],
          })
        ).status,
      ).toBe(200);
      const res = await fetch(`${server.url}/metrics?x=1`);
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const text = await res.text();
      expect(text).toMatch(/^target_info\{[^}]*service_name="from-serve"/m);
      expect(text).toMatch(/^modelship_requests_total\{model_name="mnist",model_version="5",outcome="success"/m);
      const post = await call(`${server.url}/metrics`, { method: 'POST', body: '{}' });
      expect([post.status, post.headers.get('allow'), post.body.error.code]).toEqual([
        405,
        'GET',
        'METHOD_NOT_ALLOWED',
      ]);
      expect((await call(`${server.url}/nowhere`)).body.error.code).toBe('ROUTE_NOT_FOUND');
    } finally {
      await server.close();
    }
    expect(metrics.getMeterProvider().constructor.name).toBe('NoopMeterProvider');
  });

  it('without the optional OpenTelemetry peers, /metrics answers DEPENDENCY_MISSING saying what to install', async () => {
    // A child process whose module resolution cannot find @opentelemetry/sdk-metrics, as in an app without it.
    const hook = `export async function resolve(s, c, n) { if (s === '@opentelemetry/sdk-metrics') { const e = new Error('Cannot find package ' + s); e.code = 'ERR_MODULE_NOT_FOUND'; throw e; } return n(s, c); }`;
    const script = `
      import { register } from 'node:module';
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
      const { createHandler, silentLogger } = await import(${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)});
      const model = { name: 'm', version: '1', predict: async () => ({}) };
      const h = createHandler({ models: [model], metrics: true, closeModels: false, logger: silentLogger });
      const res = await h(new Request('http://x/metrics'));
      console.log(JSON.stringify({ status: res.status, body: await res.json() }));
      await h.close();`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
    const { status, body } = JSON.parse(stdout) as {
      status: number;
      body: { error: { code: string; message: string } };
    };
    expect(status).toBe(500);
    expect(body.error.code).toBe('DEPENDENCY_MISSING');
    expect(body.error.message).toContain('npm install @opentelemetry/sdk-metrics @opentelemetry/exporter-prometheus');
  });

  it('closing the last handler with metrics: true unregisters its MeterProvider', async () => {
    const a = createHandler({ models: [model], closeModels: false, metrics: true });
    const b = createHandler({ models: [model], closeModels: false, metrics: true });
    expect((await a(new Request('http://x/metrics'))).status).toBe(200);
    await a.close();
    expect((await b(new Request('http://x/metrics'))).status).toBe(200);
    await b.close();
    expect(metrics.getMeterProvider().constructor.name).toBe('NoopMeterProvider');
  });
});
