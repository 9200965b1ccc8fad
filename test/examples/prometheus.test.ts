/**
 * modelship's OpenTelemetry metrics scraped by a real Prometheus (Debian package `prometheus`): the example's
 * SDK wiring serves /metrics, Prometheus scrapes it, and its query API returns the request counter. The
 * Grafana dashboard only uses series that really exist.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, loadModel, silentLogger, type Model } from 'modelship';
import { serve, type ModelshipServer } from 'modelship/node';
import { startPrometheusMetrics, type PrometheusMetrics } from '../../examples/prometheus/metrics.js';
import { IMAGE_SIZE } from '../../examples/shared/mnist-data.js';
import { postJson } from '../helpers/http.js';
import { tempDir, tinyMnist } from '../helpers/models.js';

const PROMETHEUS = ['/usr/bin/prometheus', '/usr/local/bin/prometheus'].find((p) => existsSync(p));
if (!PROMETHEUS)
  console.warn('prometheus test skipped: no prometheus binary (apt-get install prometheus; .ci/run does it).');

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** Queries Prometheus until `check` accepts the result (it scrapes every second), or gives up after 60 s. */
async function queryUntil(base: string, query: string, check: (r: PromResult[]) => boolean): Promise<PromResult[]> {
  const deadline = Date.now() + 60_000;
  let last: PromResult[] = [];
  while (Date.now() < deadline) {
    const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(query)}`).catch(() => undefined);
    if (res?.ok) {
      last = ((await res.json()) as { data: { result: PromResult[] } }).data.result;
      if (check(last)) return last;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Prometheus never returned the expected result for ${query}; last: ${JSON.stringify(last)}`);
}

interface PromResult {
  metric: Record<string, string>;
  value: [number, string];
}

describe.skipIf(!PROMETHEUS)('metrics scraped by a real Prometheus', () => {
  let metrics: PrometheusMetrics;
  let model: Model;
  let server: ModelshipServer;
  let prometheus: ChildProcess;
  let prometheusUrl: string;

  beforeAll(async () => {
    metrics = startPrometheusMetrics();
    model = await loadModel(tinyMnist().onnx, { name: 'mnist', version: '7' });
    await model.ready();
    server = await serve(createHandler({ models: [model], logger: silentLogger }), {
      port: 0,
      host: '127.0.0.1',
      fallback: metrics.handle,
    });
    const dir = await tempDir('modelship-prom-');
    const config = join(dir, 'prometheus.yml');
    await writeFile(
      config,
      `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: modelship\n    static_configs:\n      - targets: ['127.0.0.1:${server.port}']\n`,
    );
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      PROMETHEUS as string,
      [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: 'ignore' },
    );
  }, 60_000);

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    await server?.close();
    await metrics?.shutdown();
  });

  it('shows the request counter, by outcome and error type, through the Prometheus query API', async () => {
    const pixels = Array.from(tinyMnist().test.images.subarray(0, IMAGE_SIZE));
    for (let i = 0; i < 5; i++)
      expect((await postJson(`${server.url}/predict`, { inputs: [pixels] })).status).toBe(200);
    expect((await postJson(`${server.url}/predict`, { inputs: [[1, 2, 3]] })).status).toBe(400);

    const ok = await queryUntil(
      prometheusUrl,
      'modelship_requests_total{outcome="success"}',
      (r) => r[0]?.value[1] === '5',
    );
    expect(ok[0]?.metric).toMatchObject({
      job: 'modelship',
      model_name: 'mnist',
      model_version: '7',
      outcome: 'success',
    });
    const failed = await queryUntil(prometheusUrl, 'modelship_requests_total{outcome="error"}', (r) => r.length === 1);
    expect(failed[0]?.metric).toMatchObject({ error_type: 'INVALID_INPUT' });
    expect(failed[0]?.value[1]).toBe('1');

    const buckets = await queryUntil(
      prometheusUrl,
      'modelship_request_duration_bucket{outcome="success",le="+Inf"}',
      (r) => r.length === 1,
    );
    expect(buckets[0]?.value[1]).toBe('5');
  }, 90_000);

  it('serves every series the Grafana dashboard queries', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const dashboard = readFileSync(
      new URL('../../examples/prometheus/grafana-dashboard.json', import.meta.url),
      'utf8',
    );
    const used = new Set([...dashboard.matchAll(/modelship_[a-z_]+/g)].map((m) => m[0]));
    expect(used.size).toBeGreaterThan(5);
    // The worker-restart counter appears once a worker has been replaced, and this example has no monitoring,
    // deployment or tracker: test/telemetry/alert-rules.test.ts checks those panels against a scrape that has them.
    const elsewhere = /^modelship_(worker_restarts|drift|live|feedback|deployment|tracker)_/;
    for (const name of [...used].filter((n) => !elsewhere.test(n))) {
      expect(text, name).toMatch(new RegExp(`^${name}[{ ]`, 'm'));
    }
  });
});
