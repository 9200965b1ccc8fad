/**
 * examples/prometheus: the alert and recording rules pass `promtool check rules` and `promtool test rules` (every
 * alert has a firing and a not-firing case), and every rule expression and every Grafana query is checked against
 * what a REAL Prometheus scraped from a REAL server (`metrics: true`) that produced each kind of series: predictions
 * and errors, a crashed worker replaced, QUEUE_FULL refusals, drift and live accuracy on MNIST, a canary rolled
 * back by its guardrail, a tracker spool that cannot deliver. Debian's `prometheus` package (installed by
 * .ci/run) provides both binaries.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBaseline,
  createDeployment,
  createHandler,
  createMlflowTracker,
  loadModel,
  silentLogger,
  type Deployment,
  type Model,
  type TrackingClient,
} from 'modelship';
import { serve, type ModelshipServer } from 'modelship/node';
import { createOnnxNodeBackend } from '../../src/backends/onnx-node/index.js';
import type { WorkerPoolSession } from '../../src/backends/onnx-node/worker-pool.js';
import { loadModelWith, type ServingRuntime } from '../../src/serving/load-model.js';
import { nodeRuntime } from '../../src/serving/node-runtime.js';
import type { BackendSession } from '../../src/spec/backend.js';
import { deploymentRegistry, digits } from '../helpers/deployments.js';
import { postJson } from '../helpers/http.js';
import { tempDir, tempFile, tinyMnist } from '../helpers/models.js';

const run = promisify(execFile);
const RULES = fileURLToPath(new URL('../../examples/prometheus/rules/', import.meta.url));
const DASHBOARD = fileURLToPath(new URL('../../examples/prometheus/grafana-dashboard.json', import.meta.url));
const bin = (name: string): string | undefined => [`/usr/bin/${name}`, `/usr/local/bin/${name}`].find(existsSync);
const PROMTOOL = bin('promtool');
const PROMETHEUS = bin('prometheus');
if (!PROMTOOL || !PROMETHEUS)
  console.warn('alert rule tests skipped: no promtool/prometheus (apt-get install prometheus; .ci/run does it).');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}
const ruleFile = (name: string): Rule[] =>
  (parse(readFileSync(join(RULES, name), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const alerts = ruleFile('alerts.yml');
const recordings = ruleFile('recording.yml');
const dashboardQueries = (): string[] =>
  (JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { targets?: { expr: string }[] }[] }).panels
    .flatMap((p) => p.targets ?? [])
    .map((t) => t.expr);

/** Grafana's variables as a Prometheus query takes them. */
const concrete = (expr: string): string =>
  expr.replaceAll('$model', '.*').replaceAll('$__rate_interval', '1m').replaceAll('$__range', '5m');

/** Raw metrics an expression selects, with the label names it matches on or groups by. */
function selectors(expr: string): { metrics: string[]; labels: string[] } {
  // Recorded series (`model:modelship_…:rate5m`) are checked by querying them, not as scraped names.
  const metrics = [...expr.matchAll(/(?<![:\w])(modelship_[a-z_]+)(?![:\w])/g)].map((m) => m[1] as string);
  const matchers = [...expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) =>
    [...(m[1] as string).matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1] as string),
  );
  const grouped = [...expr.matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap((m) =>
    (m[1] as string).split(',').map((s) => s.trim()),
  );
  return { metrics: [...new Set(metrics)], labels: [...new Set([...matchers, ...grouped])].filter((l) => l !== '') };
}

describe.skipIf(!PROMTOOL)('alert and recording rules under promtool', () => {
  it('pass promtool check rules', async () => {
    const { stdout } = await run(PROMTOOL as string, ['check', 'rules', 'recording.yml', 'alerts.yml'], { cwd: RULES });
    expect(stdout).toContain(`SUCCESS: ${recordings.length} rules found`);
    expect(stdout).toContain(`SUCCESS: ${alerts.length} rules found`);
  });

  it('pass promtool test rules', async () => {
    const { stdout } = await run(PROMTOOL as string, ['test', 'rules', 'tests/alerts.test.yml'], { cwd: RULES });
    expect(stdout).toContain('SUCCESS');
  });

  it('have a firing and a not-firing unit test for every alert', () => {
    const tests = (
      parse(readFileSync(join(RULES, 'tests/alerts.test.yml'), 'utf8')) as {
        tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
      }
    ).tests.flatMap((t) => t.alert_rule_test);
    expect(alerts.length).toBe(8);
    for (const { alert } of alerts) {
      const cases = tests.filter((t) => t.alertname === alert);
      expect(
        cases.some((c) => c.exp_alerts.length > 0),
        `${alert} fires`,
      ).toBe(true);
      expect(
        cases.some((c) => c.exp_alerts.length === 0),
        `${alert} stays quiet`,
      ).toBe(true);
    }
  });
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** Calls the Prometheus HTTP API until `check` accepts the data (it scrapes every second), for up to 60 s. */
async function until<T>(url: string, check: (data: T) => boolean): Promise<T> {
  const deadline = Date.now() + 60_000;
  let last: unknown;
  while (Date.now() < deadline) {
    const res = await fetch(url).catch(() => undefined);
    if (res?.ok) {
      last = ((await res.json()) as { data: T }).data;
      if (check(last as T)) return last as T;
    } else if (res) last = await res.text();
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Prometheus never answered as expected: ${url}; last: ${JSON.stringify(last)?.slice(0, 500)}`);
}

describe.skipIf(!PROMETHEUS)('every rule and dashboard query against a real scrape', () => {
  let prometheus: ChildProcess | undefined;
  let base: string;
  let server: ModelshipServer;
  let mnist: Model;
  let crashy: Model;
  let deployment: Deployment;
  let tracker: TrackingClient;

  beforeAll(async () => {
    const data = tinyMnist();
    const path = await tempFile(data.onnx, 'mnist.onnx');
    // A model whose worker we crash, on a one-request queue: worker restarts, WORKER_CRASHED and QUEUE_FULL.
    let session: BackendSession | undefined;
    const real = createOnnxNodeBackend();
    const runtime: ServingRuntime = {
      ...nodeRuntime,
      backend: async () => ({
        ...real,
        createSession: async (...args: Parameters<typeof real.createSession>) =>
          (session = await real.createSession(...args)),
      }),
    };
    crashy = await loadModelWith(runtime, path, {
      name: 'crashy',
      version: '1',
      workers: 1,
      logger: silentLogger,
      batching: { maxQueueSize: 1 },
    });
    await crashy.ready();
    // The baseline: 400 test digits with the model's answers; then the monitored model.
    const rows = 400;
    const pixels = { dtype: 'float32' as const, shape: [rows, 784], data: data.test.images.slice(0, rows * 784) };
    const outputs = await crashy.predict({ pixels });
    const baseline = createBaseline({ inputs: { pixels }, outputs }, { signature: crashy.signature });
    mnist = await loadModel(path, {
      name: 'mnist',
      version: '3',
      workers: 1,
      logger: silentLogger,
      monitoring: { baseline, sampleRate: 1, interval: '100ms', minSamples: 50 },
    });
    await mnist.ready();

    server = await serve(createHandler({ models: [mnist, crashy], metrics: true, logger: silentLogger }), {
      port: 0,
      host: '127.0.0.1',
    });
    // The first scrape waits for the SDK to be registered: everything from here on is counted.
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
    // Prometheus starts scraping while the traffic below runs.
    const dir = await tempDir('modelship-prom-rules-');
    // The rules as shipped, evaluated every second instead of every 30 s.
    for (const name of ['recording.yml', 'alerts.yml']) {
      await writeFile(
        join(dir, name),
        readFileSync(join(RULES, name), 'utf8').replace(/interval: 30s/g, 'interval: 1s'),
      );
    }
    await writeFile(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: ['${join(dir, 'recording.yml')}', '${join(dir, 'alerts.yml')}']`,
        `scrape_configs: [{ job_name: modelship, static_configs: [{ targets: ['127.0.0.1:${server.port}'] }] }]`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    base = `http://127.0.0.1:${port}/api/v1`;
    prometheus = spawn(
      PROMETHEUS as string,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );

    // Predictions with request ids, labels for them (live accuracy), drift windows, a client error.
    const { test } = data;
    for (let i = 0; i < 100; i++) {
      const image = Array.from(test.images.subarray(i * 784, (i + 1) * 784));
      const res = await postJson(
        `${server.url}/models/mnist/predict`,
        { inputs: [image] },
        { 'x-request-id': `r${i}` },
      );
      expect(res.status).toBe(200);
      mnist.feedback(`r${i}`, test.labels[i] as number);
    }
    expect((await postJson(`${server.url}/models/mnist/predict`, { inputs: [[1, 2]] })).status).toBe(400);

    // A worker crash (its request fails with WORKER_CRASHED, a replacement starts) and a burst past the queue.
    const digit = { dtype: 'float32' as const, shape: [1, 784], data: test.images.slice(0, 784) };
    const exited = (session as WorkerPoolSession).crashWorkerForTesting(0);
    await crashy.predict({ pixels: digit }).catch(() => undefined);
    await exited;
    await crashy.predict({ pixels: digit });
    const burst = await Promise.allSettled(Array.from({ length: 20 }, () => crashy.predict({ pixels: digit })));
    expect(burst.some((r) => r.status === 'rejected')).toBe(true);

    // A canary with permuted classes rolled back by its live-accuracy guardrail.
    deployment = await createDeployment({
      name: 'digits',
      stable: 'mnist/1',
      canary: { ref: 'mnist/3', weight: 0.5 },
      registry: await deploymentRegistry(),
      logger: silentLogger,
      modelOptions: { workers: 1, monitoring: { sampleRate: 0 } },
      guardrails: { minRequests: 20, minLiveAccuracy: 0.8, interval: '1h' },
    });
    const few = digits(80);
    await Promise.all(few.images.map((image, i) => deployment.predict({ pixels: [image] }, { requestId: `d${i}` })));
    few.labels.forEach((label, i) => deployment.feedback(`d${i}`, label));
    deployment.evaluate();
    expect(deployment.status().canary?.weight ?? 0).toBe(0);

    // A tracker whose server does not answer: its records wait in the spool.
    tracker = createMlflowTracker({
      trackingUri: `http://127.0.0.1:${await freePort()}`,
      spoolDir: await tempDir('modelship-spool-'),
      onError: () => undefined,
      logger: silentLogger,
    });
    (await tracker.startRun({ experiment: 'alerts' })).logMetrics({ loss: 0.5 });
  }, 120_000);

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    await tracker?.close({ timeoutMs: 100 });
    await deployment?.close();
    await server?.close();
  });

  const labelsOf = async (metric: string): Promise<Set<string>> => {
    const series = await until<Record<string, string>[]>(
      `${base}/series?match[]=${encodeURIComponent(metric)}`,
      (s) => s.length > 0,
    );
    return new Set(series.flatMap((s) => Object.keys(s)));
  };

  const checkSelectors = async (expr: string): Promise<void> => {
    const { metrics, labels } = selectors(expr);
    const names = new Set<string>();
    for (const m of metrics) for (const l of await labelsOf(m)) names.add(l);
    for (const label of labels) expect(names, `${expr}: label ${label}`).toContain(label);
  };

  it('finds every series and label each rule and each dashboard query selects', async () => {
    for (const expr of [...alerts, ...recordings].map((r) => r.expr)) await checkSelectors(expr);
    for (const expr of dashboardQueries()) await checkSelectors(expr);
  }, 90_000);

  it('evaluates every rule without an error, and each recording rule records series', async () => {
    const groups = await until<{ groups: { rules: { name: string; health: string; lastError?: string }[] }[] }>(
      `${base}/rules`,
      (d) => d.groups.length === 2 && d.groups.every((g) => g.rules.every((r) => r.health !== 'unknown')),
    );
    for (const rule of groups.groups.flatMap((g) => g.rules))
      expect(rule.health, `${rule.name}: ${rule.lastError}`).toBe('ok');
    for (const { record } of recordings) {
      await until<{ result: unknown[] }>(
        `${base}/query?query=${encodeURIComponent(record as string)}`,
        (d) => d.result.length > 0,
      );
    }
  }, 90_000);

  it('fires the guardrail-rollback alert for the canary rolled back above', async () => {
    const { alerts: firing } = await until<{ alerts: { labels: Record<string, string>; state: string }[] }>(
      `${base}/alerts`,
      (d) => d.alerts.some((a) => a.labels.alertname === 'ModelshipGuardrailRollback' && a.state === 'firing'),
    );
    expect(firing.find((a) => a.labels.alertname === 'ModelshipGuardrailRollback')?.labels).toMatchObject({
      deployment_name: 'digits',
      model_version: '3',
      severity: 'ticket',
    });
  }, 90_000);

  it('answers every dashboard query with data', async () => {
    for (const expr of dashboardQueries()) {
      await until<{ result: unknown[] }>(
        `${base}/query?query=${encodeURIComponent(concrete(expr))}`,
        (d) => d.result.length > 0,
      );
    }
  }, 90_000);
});
