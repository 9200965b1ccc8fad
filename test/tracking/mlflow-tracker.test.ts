import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import type { ModelshipError } from '../../src/errors/index.js';
import { createMlflowTracker, type MlflowTracker, type MlflowTrackerOptions } from '../../src/tracking/index.js';
import { testTracker } from '../contract/tracker.js';
import { tempDir } from '../helpers/models.js';
import { until } from '../helpers/wait.js';
import { startMlflowTrackingServer, type MlflowTrackingServer } from '../servers/mlflow-tracking/server.js';
import { metricHistory } from '../servers/mlflow-tracking/state.js';
import { readMlflowRun } from './readers.js';

// Fast retries keep outage tests short; the production defaults are 500 ms → 30 s.
const FAST = { lingerMs: 0, retry: { initialDelayMs: 5, maxDelayMs: 40 }, logger: silentLogger } as const;

const servers: MlflowTrackingServer[] = [];
const trackers: MlflowTracker[] = [];

async function server(): Promise<MlflowTrackingServer> {
  const s = await startMlflowTrackingServer();
  servers.push(s);
  return s;
}

function tracker(options: MlflowTrackerOptions, errors: ModelshipError[] = []): MlflowTracker {
  const t = createMlflowTracker({ ...FAST, onError: (e) => errors.push(e), ...options });
  trackers.push(t);
  return t;
}

afterEach(async () => {
  await Promise.all(trackers.splice(0).map((t) => t.close({ timeoutMs: 2000 })));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

testTracker('mlflow', async () => {
  const s = await server();
  const errors: ModelshipError[] = [];
  const t = tracker({ trackingUri: s.url, spoolDir: await tempDir() }, errors);
  return {
    tracker: t,
    errors,
    read: async (ref) => readMlflowRun(s.state, ref),
    requestCount: () => s.state.requests.length,
  };
});

describe('MLflow tracker', () => {
  let spoolDir: string;
  beforeEach(async () => {
    spoolDir = await tempDir('modelship-spool-');
  });

  it('splits 2,500 metrics logged in one call into 3 log-batch requests within the server limits', async () => {
    const s = await server();
    const t = tracker({ trackingUri: s.url, spoolDir });
    const run = await t.startRun({ experiment: 'limits' });
    await t.flush();
    const before = s.state.requests.length;
    run.logMetrics(Object.fromEntries(Array.from({ length: 2500 }, (_, i) => [`m${i}`, i])), { step: 0 });
    expect(await t.flush()).toMatchObject({ delivered: true });
    const batches = s.state.requests.slice(before).filter((r) => r.path.endsWith('/runs/log-batch'));
    expect(batches.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(s.state.runs.get((await run.remote()).runId as string)?.metrics).toHaveLength(2500);
  });

  it('keeps 150 params and large tag values under 100 per request and under 1 MB per body', async () => {
    const s = await server();
    const t = tracker({ trackingUri: s.url, spoolDir });
    const run = await t.startRun({ experiment: 'limits' });
    run.logParams(Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`p${i}`, 'v'.repeat(6000)])));
    run.setTags(Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`t${i}`, 't'.repeat(5000)])));
    expect(await t.flush()).toMatchObject({ delivered: true });
    const batches = s.state.requests.filter((r) => r.path.endsWith('/runs/log-batch'));
    expect(batches.every((r) => r.status === 200 && r.bytes <= 1_000_000)).toBe(true);
    expect(batches.length).toBeGreaterThanOrEqual(3);
    const stored = s.state.runs.get((await run.remote()).runId as string);
    expect(stored?.params.size).toBe(150);
    expect([...(stored?.tags.keys() ?? [])].filter((k) => k.startsWith('t'))).toHaveLength(150);
  });

  it('refuses a 7,000-character param with INVALID_PARAM naming it, before any request', async () => {
    const s = await server();
    const t = tracker({ trackingUri: s.url, spoolDir });
    const run = await t.startRun({ experiment: 'limits' });
    await t.flush();
    const before = s.state.requests.length;
    let error: unknown;
    try {
      run.logParams({ ok: 1, description: 'd'.repeat(7000) });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({
      code: 'INVALID_PARAM',
      details: { param: 'description', length: 7000, limit: 6000 },
    });
    expect(await t.flush()).toMatchObject({ delivered: true, pendingRecords: 0 });
    expect(s.state.requests.length).toBe(before);
  });

  it('honours Retry-After on 429 and 503 and reports each failed attempt without throwing', async () => {
    const s = await server();
    s.state.faults.push(
      { path: /log-batch/, status: 429, times: 1, retryAfterSeconds: 0 },
      { path: /log-batch/, status: 503, times: 1, retryAfterSeconds: 0 },
    );
    const errors: ModelshipError[] = [];
    const t = tracker({ trackingUri: s.url, spoolDir }, errors);
    const run = await t.startRun({ experiment: 'retry' });
    run.logMetrics({ loss: 1 }, { step: 0 });
    expect(await t.flush()).toMatchObject({ delivered: true });
    expect(errors.map((e) => [e.code, e.details?.status, e.details?.retryAfterMs, e.retryable])).toEqual([
      ['TRACKING_UNAVAILABLE', 429, 0, true],
      ['TRACKING_UNAVAILABLE', 503, 0, true],
    ]);
    expect(metricHistory(s.state.runs.get((await run.remote()).runId as string)!, 'loss')).toHaveLength(1);
  });

  it('keeps records spooled through 401 until the token is accepted, and never sends credentials in errors', async () => {
    const s = await server();
    s.state.token = 'right';
    const errors: ModelshipError[] = [];
    const t = tracker({ trackingUri: s.url, token: 'wrong', spoolDir }, errors);
    const run = await t.startRun({ experiment: 'auth' });
    run.logMetrics({ loss: 1 });
    await until(() => errors.length >= 2, 'two failed attempts');
    expect(errors[0]).toMatchObject({ code: 'TRACKING_UNAVAILABLE', details: { status: 401 } });
    expect(errors[0]?.message).toMatch(/credentials/);
    expect(JSON.stringify(errors.map((e) => [e.message, e.details]))).not.toMatch(/wrong/);
    expect(t.stats().pendingRecords).toBeGreaterThan(0);
    s.state.token = 'wrong';
    expect(await t.flush()).toMatchObject({ delivered: true });
    expect(s.state.runs.size).toBe(1);
  });

  it('reports a refused batch as TRACKING_REJECTED with the server error code and goes on', async () => {
    const s = await server();
    const errors: ModelshipError[] = [];
    const t = tracker({ trackingUri: s.url, spoolDir }, errors);
    const run = await t.startRun({ experiment: 'rejected' });
    await t.flush();
    // The run is deleted behind the tracker's back: its batches are refused for good.
    s.state.runs.clear();
    run.logMetrics({ loss: 1 });
    expect(await t.flush()).toMatchObject({ delivered: true, pendingRecords: 0 });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      code: 'TRACKING_REJECTED',
      retryable: false,
      details: { status: 404, serverCode: 'RESOURCE_DOES_NOT_EXIST' },
    });
  });

  it('creates a run once even when the answer to runs/create is lost', async () => {
    const s = await server();
    s.state.faults.push({ path: /runs\/create/, status: 200, times: 1, dropResponse: true });
    const t = tracker({ trackingUri: s.url, spoolDir });
    const run = await t.startRun({ experiment: 'once', name: 'only' });
    run.logMetrics({ loss: 1 });
    expect(await t.flush()).toMatchObject({ delivered: true });
    expect([...s.state.runs.values()].map((r) => r.runName)).toEqual(['only']);
    expect((await run.remote()).runId).toBe([...s.state.runs.keys()][0]);
  });

  it('delivers 10,000 metrics exactly once and in step order through repeated outages, with memory under the cap', async () => {
    const s = await server();
    const errors: ModelshipError[] = [];
    const cap = 500;
    const t = tracker({ trackingUri: s.url, spoolDir, maxMemoryRecords: cap, batchRecords: 400, lingerMs: 1 }, errors);
    const run = await t.startRun({ experiment: 'outage' });
    await t.flush();
    const keys = ['loss', 'accuracy', 'latency', 'throughput'];
    let maxMemory = 0;
    let maxPending = 0;
    let outages = 0;
    for (let chunk = 0; chunk < 100; chunk++) {
      const outage = chunk % 20 === 5;
      const seen = errors.length;
      if (outage) {
        await s.stop();
        outages += 1;
      }
      for (let i = chunk * 100; i < chunk * 100 + 100; i++) {
        run.logMetrics({ [keys[i % 4] as string]: i }, { step: i });
        const stats = t.stats();
        maxMemory = Math.max(maxMemory, stats.memoryRecords);
        maxPending = Math.max(maxPending, stats.pendingRecords);
      }
      // Go on only once the flusher has run into the outage, so every outage is really exercised.
      if (outage) await until(() => errors.length > seen, 'the flusher to hit the stopped server');
      if (chunk % 20 === 15) await s.start();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await t.flush({ timeoutMs: 30_000 })).toMatchObject({ delivered: true, pendingRecords: 0 });
    const stored = s.state.runs.get((await run.remote()).runId as string)!;
    for (const [k, key] of keys.entries()) {
      const expected = Array.from({ length: 2500 }, (_, n) => n * 4 + k);
      const points = metricHistory(stored, key);
      expect(points.map((p) => p.step)).toEqual(expected);
      expect(points.map((p) => p.value)).toEqual(expected);
    }
    expect(outages).toBe(5);
    expect(maxPending).toBeGreaterThan(cap); // the spool really went past memory, onto disk only
    expect(maxMemory).toBeLessThanOrEqual(cap);
    // Sent once in practice: at most the batches in flight when the server was cut off are sent again.
    expect(s.state.metricsReceived - stored.metrics.length).toBeLessThanOrEqual(outages * 1000);
  });

  it('leaves undelivered records in the spool on close and the next tracker there delivers them', async () => {
    const s = await server();
    await s.stop();
    const first = tracker({ trackingUri: s.url, spoolDir });
    const run = await first.startRun({ experiment: 'replay', name: 'offline' });
    for (let step = 0; step < 50; step++) run.logMetrics({ loss: step }, { step });
    await run.end();
    const report = await first.close({ timeoutMs: 100 });
    expect(report.delivered).toBe(false);
    expect(report.pendingRecords).toBe(52);
    expect(report.spoolDir).toContain(spoolDir);
    await s.start();
    const second = tracker({ trackingUri: s.url, spoolDir });
    await second.ready();
    expect(second.stats().spools).toBe(2);
    expect(await second.flush()).toMatchObject({ delivered: true, pendingRecords: 0 });
    const stored = [...s.state.runs.values()];
    expect(stored.map((r) => [r.runName, r.status, r.metrics.length])).toEqual([['offline', 'FINISHED', 50]]);
    await until(() => second.stats().spools === 1, 'the replayed spool to be removed');
    const bases = await readdir(spoolDir);
    expect(await readdir(join(spoolDir, bases[0] as string))).toEqual([second.spoolDir?.split('/').pop()]);
  });

  it('takes credentials as MLflow clients do: user:password in the URI, then USERNAME+PASSWORD over TOKEN', async () => {
    const s = await server();
    s.state.basic = { username: 'ann', password: 's3cret' };
    const unauth = await fetch(`${s.url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=x`);
    expect([unauth.status, unauth.headers.get('www-authenticate')]).toEqual([401, 'Basic realm="mlflow"']);
    const saved = { ...process.env };
    try {
      for (const key of ['MLFLOW_TRACKING_URI', 'MLFLOW_TRACKING_USERNAME', 'MLFLOW_TRACKING_PASSWORD'])
        delete process.env[key];
      process.env.MLFLOW_TRACKING_TOKEN = 'a-token-for-another-server';
      const errors: ModelshipError[] = [];
      const viaUri = tracker({ trackingUri: `http://ann:s3cret@${s.url.slice('http://'.length)}`, spoolDir }, errors);
      expect(viaUri.trackingUri).toBe(s.url);
      await (await viaUri.startRun({ experiment: 'uri-auth' })).end();
      expect(await viaUri.flush({ timeoutMs: 5000 })).toMatchObject({ delivered: true });
      process.env.MLFLOW_TRACKING_USERNAME = 'ann';
      process.env.MLFLOW_TRACKING_PASSWORD = 's3cret';
      const viaEnv = tracker({ trackingUri: s.url, spoolDir: await tempDir('modelship-spool-') }, errors);
      await (await viaEnv.startRun({ experiment: 'env-auth' })).end();
      expect(await viaEnv.flush({ timeoutMs: 5000 })).toMatchObject({ delivered: true });
      expect(errors).toEqual([]);
      expect(s.state.runs.size).toBe(2);
    } finally {
      process.env = saved;
    }
  });

  it('takes its server and credentials from MLFLOW_TRACKING_* and refuses a non-http URI', () => {
    const saved = { ...process.env };
    try {
      process.env.MLFLOW_TRACKING_URI = 'http://user:secret@mlflow.example:5000/';
      const t = tracker({ spoolDir });
      expect(t.trackingUri).toBe('http://mlflow.example:5000');
      delete process.env.MLFLOW_TRACKING_URI;
      expect(() => createMlflowTracker({ spoolDir })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
      expect(() => createMlflowTracker({ trackingUri: 'ftp://x', spoolDir })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS' }),
      );
    } finally {
      process.env = saved;
    }
  });
});
