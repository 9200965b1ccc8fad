import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import type { ModelshipError } from '../../src/errors/index.js';
import { createWandbTracker, type WandbTracker, type WandbTrackerOptions } from '../../src/tracking/index.js';
import { testTracker } from '../contract/tracker.js';
import { tempDir } from '../helpers/models.js';
import { until } from '../helpers/wait.js';
import { startWandbServer, type WandbTestServer } from '../servers/wandb/server.js';
import { readWandbRun } from './readers.js';

const FAST = { lingerMs: 0, retry: { initialDelayMs: 5, maxDelayMs: 40 }, logger: silentLogger } as const;
const servers: WandbTestServer[] = [];
const trackers: WandbTracker[] = [];

async function server(): Promise<WandbTestServer> {
  const s = await startWandbServer();
  servers.push(s);
  return s;
}

async function tracker(
  s: WandbTestServer,
  options: Partial<WandbTrackerOptions> = {},
  errors: ModelshipError[] = [],
): Promise<WandbTracker> {
  const t = createWandbTracker({
    baseUrl: s.url,
    apiKey: s.state.apiKey,
    entity: 'team',
    project: 'mnist',
    spoolDir: await tempDir(),
    ...FAST,
    onError: (e) => errors.push(e),
    ...options,
  });
  trackers.push(t);
  return t;
}

afterEach(async () => {
  await Promise.all(trackers.splice(0).map((t) => t.close({ timeoutMs: 2000 })));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

testTracker('wandb', async () => {
  const s = await server();
  const errors: ModelshipError[] = [];
  const t = await tracker(s, {}, errors);
  return {
    tracker: t,
    errors,
    read: async (ref) => readWandbRun(s.state, ref),
    requestCount: () => s.state.requests.length,
  };
});

describe('W&B tracker', () => {
  it('speaks the W&B wire format: upsertBucket config and tags, history lines with _step/_runtime/_timestamp, summary, exit code', async () => {
    const s = await server();
    const t = await tracker(s);
    const run = await t.startRun({ experiment: 'sweep-1', name: 'lr-0.1', tags: { owner: 'ana', baseline: '' } });
    expect(run.id).toMatch(/^[a-z0-9]{8}$/);
    run.logParams({ lr: 0.1, optimizer: 'adam', nesterov: false });
    run.logMetrics({ loss: 0.5 }, { step: 0, timestamp: 1_700_000_000_000 });
    run.logMetrics({ loss: 0.25, acc: 0.9 }, { step: 1, timestamp: 1_700_000_001_500 });
    await run.end('FAILED');
    expect(await t.flush()).toMatchObject({ delivered: true });
    const stored = s.state.runs.get(`team/mnist/${run.id}`)!;
    expect(stored).toMatchObject({ displayName: 'lr-0.1', group: 'sweep-1', state: 'failed', exitcode: 1 });
    expect(stored.config).toEqual({
      lr: { value: 0.1, desc: null },
      optimizer: { value: 'adam', desc: null },
      nesterov: { value: false, desc: null },
    });
    expect(stored.tags.sort()).toEqual(['baseline', 'owner:ana']);
    expect(stored.history).toHaveLength(2);
    expect(stored.history[1]).toMatchObject({ loss: 0.25, acc: 0.9, _step: 1, _timestamp: 1_700_000_001.5 });
    expect(typeof stored.history[1]?._runtime).toBe('number');
    expect(stored.summary).toMatchObject({ loss: 0.25, acc: 0.9 });
    const streams = s.state.requests.filter((r) => r.path.endsWith('/file_stream'));
    expect(streams.every((r) => r.path === `/files/team/mnist/${run.id}/file_stream`)).toBe(true);
    expect(await run.remote()).toEqual({
      trackingUri: `${s.url}/team/mnist`,
      runId: run.id,
      url: `${s.url}/team/mnist/runs/${run.id}`,
    });
  });

  it('refuses a wrong API key with 401 and keeps the records until the key is accepted', async () => {
    const s = await server();
    const errors: ModelshipError[] = [];
    const t = await tracker(s, { apiKey: 'not-the-key' }, errors);
    const run = await t.startRun({ experiment: 'auth' });
    run.logMetrics({ loss: 1 });
    await until(() => errors.length >= 1, 'a failed attempt');
    expect(errors[0]).toMatchObject({ code: 'TRACKING_UNAVAILABLE', details: { status: 401 } });
    s.state.apiKey = 'not-the-key';
    expect(await t.flush()).toMatchObject({ delivered: true });
    expect(s.state.runs.get(`team/mnist/${run.id}`)?.history).toHaveLength(1);
  });

  it('delivers every history row exactly once at its offset through repeated outages', async () => {
    const s = await server();
    const errors: ModelshipError[] = [];
    const t = await tracker(s, { maxMemoryRecords: 300, batchRecords: 250, lingerMs: 1 }, errors);
    const run = await t.startRun({ experiment: 'outage' });
    await t.flush();
    let maxMemory = 0;
    for (let chunk = 0; chunk < 40; chunk++) {
      const outage = chunk % 10 === 3;
      const seen = errors.length;
      if (outage) await s.stop();
      for (let i = chunk * 100; i < chunk * 100 + 100; i++) {
        run.logMetrics({ loss: i }, { step: i });
        maxMemory = Math.max(maxMemory, t.stats().memoryRecords);
      }
      if (outage) await until(() => errors.length > seen, 'the flusher to hit the stopped server');
      if (chunk % 10 === 7) await s.start();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await t.flush({ timeoutMs: 30_000 })).toMatchObject({ delivered: true, pendingRecords: 0 });
    const stored = s.state.runs.get(`team/mnist/${run.id}`)!;
    expect(stored.history.map((row) => row._step)).toEqual(Array.from({ length: 4000 }, (_, i) => i));
    expect(stored.history.map((row) => row.loss)).toEqual(Array.from({ length: 4000 }, (_, i) => i));
    expect(maxMemory).toBeLessThanOrEqual(300);
  });

  it('needs an API key, an entity and a project (or their WANDB_* variables)', async () => {
    const spoolDir = await tempDir();
    const saved = { ...process.env };
    try {
      delete process.env.WANDB_API_KEY;
      expect(() => createWandbTracker({ entity: 'e', project: 'p' })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(/apiKey is required/) }),
      );
      Object.assign(process.env, {
        WANDB_API_KEY: 'k',
        WANDB_ENTITY: 'e',
        WANDB_PROJECT: 'p',
        WANDB_BASE_URL: 'http://127.0.0.1:1',
      });
      const t = createWandbTracker({ spoolDir });
      expect(t.trackingUri).toBe('http://127.0.0.1:1/e/p');
      await t.close({ timeoutMs: 10 });
    } finally {
      process.env = saved;
    }
  });
});
