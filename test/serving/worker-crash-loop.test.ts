/**
 * A model that kills its worker on every start or every run: replacements back off exponentially (no tight
 * respawn loop), requests fail fast with WORKER_CRASHED once the failures repeat, logs say so once per backoff
 * step, and a worker that recovers (or stays up long enough) is used again. The pool's clock and timer are
 * injected, so the test decides when each backoff ends: no sleeps, no timing assertions.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createModel, type Model } from 'modelship';
import type { BackendEvent } from '../../src/spec/backend.js';
import { WorkerPoolSession } from '../../src/backends/onnx-node/worker-pool.js';
import { IMAGE_SIZE } from '../../examples/shared/mnist-data.js';
import { tinyMnist } from '../helpers/models.js';
import { rejection } from '../helpers/errors.js';

interface Harness {
  model: Model;
  session: WorkerPoolSession;
  /** Backoff timers the pool asked for, not yet fired. */
  timers: { fn: () => void; ms: number }[];
  events: BackendEvent[];
  errorLogs: string[];
  clock: { now: number };
  /** Resolves with the next backend event of `type`. */
  next(type: BackendEvent['type']): Promise<BackendEvent>;
  /** Resolves once the pool has asked for a backoff timer (at once if one is pending). */
  timerSet(): Promise<void>;
}

const HEALTHY_AFTER_MS = 10_000;
const open: Model[] = [];
afterAll(async () => {
  await Promise.all(open.map((m) => m.close()));
});

async function harness(warmup: boolean): Promise<Harness> {
  const timers: Harness['timers'] = [];
  const events: BackendEvent[] = [];
  const errorLogs: string[] = [];
  const clock = { now: 0 };
  const waiting: { type: string; resolve: (e: BackendEvent) => void }[] = [];
  const timerWaiters: (() => void)[] = [];
  const sink: { model?: ReturnType<typeof createModel> } = {};
  const { onnx } = tinyMnist();
  const session = await WorkerPoolSession.create(
    { bytes: onnx },
    {
      intraOpNumThreads: 1,
      onEvent: (e) => {
        events.push(e);
        sink.model?.backendEvent(e);
        const i = waiting.findIndex((w) => w.type === e.type);
        if (i >= 0) waiting.splice(i, 1)[0]?.resolve(e);
      },
    },
    1,
    {
      backoff: { baseMs: 100, maxMs: 400 },
      failFastAfter: 3,
      healthyAfterMs: HEALTHY_AFTER_MS,
      now: () => clock.now,
      schedule: (fn, ms) => {
        timers.push({ fn, ms });
        for (const w of timerWaiters.splice(0)) w();
      },
      random: () => 1, // no jitter: each delay is its step's ceiling
    },
  );
  const noop = (): void => undefined;
  const model = createModel({
    name: 'm',
    version: '1',
    sha256: 'test',
    size: onnx.byteLength,
    session,
    platform: 'onnxruntime_onnx',
    metadata: {},
    source: { ref: 'test' },
    warmup,
    logger: { debug: noop, info: noop, warn: noop, error: (m: string) => void errorLogs.push(m) },
  });
  sink.model = model;
  open.push(model);
  await model.ready();
  return {
    model,
    session,
    timers,
    events,
    errorLogs,
    clock,
    next: (type) => new Promise((resolve) => waiting.push({ type, resolve })),
    timerSet: () =>
      timers.length > 0 ? Promise.resolve() : new Promise<void>((resolve) => timerWaiters.push(resolve)),
  };
}

const pixels = tinyMnist().test.images.subarray(0, IMAGE_SIZE);

/** Fires the one pending backoff timer (the pool never keeps two per worker). */
function fire(h: Harness): number {
  expect(h.timers).toHaveLength(1);
  const timer = h.timers.shift() as Harness['timers'][number];
  timer.fn();
  return timer.ms;
}

describe.each([
  { mode: 'run' as const, warmup: true, how: 'on every run (the warm-up of each replacement included)' },
  { mode: 'start' as const, warmup: false, how: 'on every start' },
])('a worker that crashes $how', ({ mode, warmup }) => {
  it('is replaced with growing delays, requests fail fast with WORKER_CRASHED instead of queueing, and it is used again once it recovers', async () => {
    const h = await harness(warmup);
    h.session.crashWorkersForTesting(mode);
    if (mode === 'start') void h.session.crashWorkerForTesting(0); // the live worker goes on its next call

    // 20 requests: the first kills the worker, the replacement (started at once) fails too: the next start waits.
    const failedStart = h.next('worker-start-failed');
    const first = Array.from({ length: 20 }, () => rejection(h.model.predict(pixels)));
    await failedStart;
    expect(h.events.map((e) => e.type)).toEqual(['worker-crashed', 'worker-start-failed']);
    // Third failure in a row: from now on nobody waits for a worker that keeps dying.
    const third = h.next('worker-start-failed');
    expect(fire(h)).toBe(100);
    await third;
    const errors = await Promise.all(first);
    expect(errors.map((e) => [e.code, e.retryable])).toEqual(Array(20).fill(['WORKER_CRASHED', true]));

    // Meanwhile new requests are refused at once, and no worker is started for them.
    const starts = h.events.length;
    const more = await Promise.all(Array.from({ length: 100 }, () => rejection(h.model.predict(pixels))));
    expect(new Set(more.map((e) => e.code))).toEqual(new Set(['WORKER_CRASHED']));
    expect(h.events.length).toBe(starts);
    expect(h.timers.map((t) => t.ms)).toEqual([200]);

    // The delay doubles up to its cap; once there, further failures are not logged again (one line per step).
    const delays = [fire(h)];
    for (let i = 0; i < 4; i++) {
      // Each fired timer starts one worker, which fails: wait for the pool to ask for the next timer.
      await h.timerSet();
      delays.push(fire(h));
    }
    expect(delays).toEqual([200, 400, 400, 400, 400]);
    await h.timerSet();
    const reported = h.events.filter((e) => e.type === 'worker-start-failed');
    expect(reported.map((e) => (e as { retryInMs?: number }).retryInMs)).toEqual([100, 200, 400]);
    expect(h.errorLogs).toHaveLength(1 + reported.length);

    // The model recovers (a custom op's resource came back): the next start succeeds and serves.
    h.session.crashWorkersForTesting(undefined);
    const restarted = h.next('worker-restarted');
    fire(h);
    await restarted;
    expect((await h.model.predict(pixels)).label?.shape).toEqual([1]);
  }, 60_000);
});

describe('a worker that stays up', () => {
  it('counts as healthy: its next crash is replaced at once and queued requests wait for the replacement', async () => {
    const h = await harness(true);
    // Two crashes in a row, each replaced: the second one waits a backoff step.
    for (let i = 0; i < 2; i++) {
      const exited = h.session.crashWorkerForTesting(0);
      const restarted = h.next('worker-restarted');
      const failed = rejection(h.model.predict(pixels));
      await exited;
      expect((await failed).code).toBe('WORKER_CRASHED');
      if (i === 1) {
        await h.timerSet();
        expect(fire(h)).toBe(100);
      }
      await restarted;
    }
    // Up for longer than healthyAfterMs: the count starts over, so this crash is replaced without waiting.
    h.clock.now += HEALTHY_AFTER_MS;
    const exited = h.session.crashWorkerForTesting(0);
    const failed = rejection(h.model.predict(pixels));
    await exited;
    // Sent while the replacement starts (the pool saw the exit before this test did): it waits for it.
    const queued = h.model.predict(pixels);
    expect((await failed).code).toBe('WORKER_CRASHED');
    expect((await queued).label?.shape).toEqual([1]);
    expect(h.timers).toHaveLength(0);
  }, 60_000);
});
