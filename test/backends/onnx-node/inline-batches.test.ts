/**
 * Overlapping runs on the calling thread (inline-batches.ts): measured on the load itself, in alternate phases,
 * and kept only where the calling thread answered more rows per second.
 *
 * The first part drives the policy with stand-ins whose speeds are set by the test (a "worker" that answers
 * after a timer, a session that answers on the next turn or after a busy stretch), so each branch is reached
 * on purpose. The last test runs a real model under a real concurrent load, whichever way it goes here.
 */
import { describe, expect, it } from 'vitest';
import { loadModel, silentLogger, type Model } from 'modelship';
import {
  BUSY_RUNS_BEFORE_TRIAL,
  INLINE_BATCH_MAX_MS,
  InlineBatches,
  RETRIAL_TIMING,
  SUSTAINED_MS,
  type RetrialTiming,
} from '../../../src/backends/onnx-node/inline-batches.js';
import type { BackendSession } from '../../../src/spec/backend.js';
import type { TensorLike } from '../../../src/spec/tensor.js';
import { tinyMnist } from '../../helpers/models.js';

type Outputs = Record<string, TensorLike>;

const feedsOf = (rows: number): Record<string, TensorLike> => ({
  x: { dtype: 'float32', shape: [rows, 2], data: new Float32Array(rows * 2) },
});
const answer = (from: string): Outputs => ({ from: { dtype: 'string', shape: [1], data: [from] } });
const fromOf = (out: Outputs): string => (out.from?.data as string[])[0] as string;

/** A stand-in session: answers on the next turn (as onnxruntime-node does), after `busyMs` of blocking work. */
function standInSession(busyMs = 0): BackendSession & { runs: number; released: boolean } {
  const session = {
    signature: { inputs: [], outputs: [] },
    runs: 0,
    released: false,
    async run(): Promise<Outputs> {
      await new Promise((resolve) => setImmediate(resolve));
      if (session.released) throw new Error('Session already disposed.');
      const until = performance.now() + busyMs;
      while (performance.now() < until);
      session.runs++;
      return answer('calling thread');
    },
    async release(): Promise<void> {
      session.released = true;
    },
  };
  return session;
}

/** Workers that answer after a timer (about 1 ms): slower than the stand-in session unless that one blocks. */
function standInWorkers(ms = 1): { runs: number; run: (f: unknown) => Promise<Outputs> } {
  const workers = {
    runs: 0,
    async run(): Promise<Outputs> {
      await new Promise((resolve) => setTimeout(resolve, ms));
      workers.runs++;
      return answer('workers');
    },
  };
  return workers;
}

/** The default timing, except that a trial the calling thread won is confirmed 0.2 s later (5 s by default). */
const QUICK_CONFIRM: RetrialTiming = { ...RETRIAL_TIMING, secondTrialMs: 200 };

/** A stand-in session and workers, and the policy over them. */
function standIns(
  options: {
    busyMs?: number;
    workerMs?: number;
    threads?: number;
    othersBusy?: () => boolean;
    timing?: RetrialTiming;
  } = {},
): { session: ReturnType<typeof standInSession>; workers: ReturnType<typeof standInWorkers>; batches: InlineBatches } {
  const session = standInSession(options.busyMs);
  const workers = standInWorkers(options.workerMs);
  const batches = new InlineBatches(options.othersBusy ?? (() => false), options.timing ?? QUICK_CONFIRM);
  // Opened again after a release (a later trial), it stands for a new session.
  batches.prepare(async () => {
    session.released = false;
    return session;
  }, options.threads ?? 1);
  return { session, workers, batches };
}

/** `callers` loops of overlapping runs of `rows()` rows until `until()` holds; every answer is checked. */
async function load(
  batches: InlineBatches,
  workers: ReturnType<typeof standInWorkers>,
  until: () => boolean,
  rows: () => number = () => 4,
  callers = 8,
  limitMs = 15_000,
): Promise<void> {
  const deadline = performance.now() + limitMs;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (!until()) {
        if (performance.now() > deadline) throw new Error(`gave up: ${batches.stats().reason}`);
        const out = await batches.run(feedsOf(rows()), {}, workers.run);
        expect(['calling thread', 'workers']).toContain(fromOf(out));
      }
    }),
  );
}

/** A choice made (not one waiting for its confirming trial). */
const decided = (b: InlineBatches): boolean =>
  /^Overlapping runs (run on the calling thread|stay on the workers:)/.test(b.stats().reason);

describe('overlapping runs on the calling thread', () => {
  it('are measured only once a load has gone on, then kept on the calling thread where it answers more rows', async () => {
    const session = standInSession();
    const workers = standInWorkers();
    const batches = new InlineBatches(() => false, QUICK_CONFIRM);
    expect(batches.stats()).toEqual({ inline: false, reason: 'Not measured: no overlapping runs seen yet.' });
    let opened = 0;
    batches.prepare(async () => {
      opened++;
      return session;
    }, 1);
    expect(batches.stats().reason).toMatch(/^Not measured yet/);
    // Fewer runs than needed, or not for long enough: nothing is opened.
    const started = performance.now();
    await load(batches, workers, () => workers.runs >= BUSY_RUNS_BEFORE_TRIAL - 8);
    expect(opened).toBe(0);
    await load(batches, workers, () => batches.stats().reason.startsWith('Being measured'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(SUSTAINED_MS);
    expect(opened).toBe(1);
    // The first trial the calling thread wins is not enough: runs stay on the workers until a second agrees.
    await load(batches, workers, () => /^Overlapping runs stay on the workers for now: /.test(batches.stats().reason));
    expect(batches.stats()).toMatchObject({ inline: false, trials: 1 });
    expect(batches.stats().reason).toMatch(/; measured again in 0\.2 s to confirm before runs move there\.$/);
    const onWorkers = workers.runs;
    await batches.run(feedsOf(4), {}, workers.run);
    expect(workers.runs).toBe(onWorkers + 1);
    await load(batches, workers, () => decided(batches));
    const stats = batches.stats();
    expect(stats).toMatchObject({ inline: true, rowsPerRun: 4, trials: 2 });
    expect(opened).toBe(1);
    expect(stats.inlineRowsPerSecond).toBeGreaterThan(1.1 * (stats.workerRowsPerSecond as number));
    expect(stats.reason).toMatch(
      /^Overlapping runs run on the calling thread: \d+ rows\/s on the calling thread against \d+ through the workers/,
    );
    // From now on, overlapping runs go to the session.
    const before = { session: session.runs, workers: workers.runs };
    for (let i = 0; i < 20; i++) expect(fromOf(await batches.run(feedsOf(4), {}, workers.run))).toBe('calling thread');
    expect(session.runs - before.session).toBe(20);
    expect(workers.runs).toBe(before.workers);
    expect(batches.stats().inlineRuns).toBeGreaterThan(20);
  }, 30_000);

  it('stay on the workers when a run on the calling thread blocks it for too long, and the session is let go', async () => {
    const timing: RetrialTiming = { retrialMinMs: 0, retrialEveryMs: 300, secondTrialMs: 200 };
    const { session, workers, batches } = standIns({ busyMs: INLINE_BATCH_MAX_MS + 1, timing });
    let trialStarted = 0;
    await load(batches, workers, () => {
      if (!trialStarted && batches.stats().reason.startsWith('Being measured')) trialStarted = performance.now();
      return decided(batches);
    });
    const stats = batches.stats();
    expect(stats.inline).toBe(false);
    // The first pair was lost, which decides the trial: it ends after 3 of its 7 phases of 100 ms.
    expect(performance.now() - trialStarted).toBeLessThan(500);
    expect(stats.reason).toMatch(
      new RegExp(
        `^Overlapping runs stay on the workers: .*\\(1 phase each, 4 rows a run\\); a run would hold the calling thread [\\d.]+ ms, over the ${INLINE_BATCH_MAX_MS} ms the event loop may be blocked\\.$`,
      ),
    );
    expect(session.released).toBe(true);
    const before = session.runs;
    for (let i = 0; i < 10; i++) expect(fromOf(await batches.run(feedsOf(4), {}, workers.run))).toBe('workers');
    expect(session.runs).toBe(before);
    // Runs of this size would still hold it too long: no trial every 0.3 s (the next waits ten times that)...
    const quiet = performance.now() + 1000;
    await load(batches, workers, () => performance.now() > quiet);
    expect(batches.stats()).toMatchObject({ trials: 1, reason: stats.reason });
    // ...but once runs are small enough to fit at the rate measured, it is measured again.
    await load(
      batches,
      workers,
      () => /^Being measured again/.test(batches.stats().reason),
      () => 1,
    );
    expect(batches.stats().trials).toBe(2);
  }, 30_000);

  it('stay on the workers when they answer more rows, even with runs short enough for the calling thread', async () => {
    // 1.2 ms of blocking work a run: 4 rows at a time, about 3k rows/s; 8 callers' runs overlap on the workers.
    const timing: RetrialTiming = { retrialMinMs: 60_000, retrialEveryMs: 60_000, secondTrialMs: 200 };
    const { session, workers, batches } = standIns({ busyMs: 1.2, timing });
    await load(batches, workers, () => decided(batches));
    const stats = batches.stats();
    expect(stats.inline).toBe(false);
    expect(stats.workerRowsPerSecond).toBeGreaterThan(stats.inlineRowsPerSecond as number);
    expect(stats.reason).toMatch(/; the calling thread needs 1\.1× in every pair to be worth it\.$/);
    expect(session.released).toBe(true);
    // The first trial may fall in the process's warm-up, whichever way it goes: a second one follows soon...
    await load(batches, workers, () => /^Being measured again \(measured 0\.2 s after/.test(batches.stats().reason));
    await load(batches, workers, () => decided(batches));
    expect(batches.stats()).toMatchObject({ inline: false, trials: 2 });
    // ...and after that the choice stands for retrialEveryMs.
    const quiet = performance.now() + 1000;
    await load(batches, workers, () => performance.now() > quiet);
    expect(batches.stats().trials).toBe(2);
  }, 30_000);

  it('are measured again when the load changes, and again after a while under the same load', async () => {
    const { workers, batches } = standIns({
      timing: { retrialMinMs: 0, retrialEveryMs: 60_000, secondTrialMs: 200 },
    });
    await load(batches, workers, () => decided(batches));
    expect(batches.stats()).toMatchObject({ inline: true, trials: 2, rowsPerRun: 4 });
    // Four times the rows a run: measured again, on the session already open.
    await load(
      batches,
      workers,
      () => /^Being measured again \(the load changed: /.test(batches.stats().reason),
      () => 16,
    );
    expect(batches.stats().trials).toBe(3);
    await load(
      batches,
      workers,
      () => decided(batches),
      () => 16,
    );
    // It won again, and had won the trial before: no confirming trial needed.
    expect(batches.stats()).toMatchObject({ inline: true, trials: 3 });
    expect(batches.stats().rowsPerRun).toBeGreaterThan(8);

    // The same load: confirmed after secondTrialMs, then measured again every retrialEveryMs.
    const periodic = new InlineBatches(() => false, { retrialMinMs: 0, retrialEveryMs: 400, secondTrialMs: 200 });
    periodic.prepare(async () => standInSession(), 1);
    const seen = new Set<string>();
    const note = (until: () => boolean) => (): boolean => {
      seen.add(periodic.stats().reason.replace(/:.*/s, ''));
      return until();
    };
    await load(
      periodic,
      workers,
      note(() => decided(periodic)),
    );
    await load(
      periodic,
      workers,
      note(() => /^Being measured again \(measured 0\.4 s/.test(periodic.stats().reason)),
    );
    await load(
      periodic,
      workers,
      note(() => decided(periodic)),
    );
    expect([...seen]).toEqual([
      'Not measured yet',
      'Being measured',
      'Overlapping runs stay on the workers for now',
      'Being measured again (measured 0.2 s after the last time, under load)',
      'Overlapping runs run on the calling thread',
      'Being measured again (measured 0.4 s after the last time, under load)',
    ]);
    expect(periodic.stats()).toMatchObject({ inline: true, trials: 3 });
  }, 30_000);

  it('once chosen, a run too big for the rate measured, or beside busy models with several threads, goes to the workers', async () => {
    let othersBusy = false;
    const { workers, batches } = standIns({ threads: 2, othersBusy: () => othersBusy });
    await load(batches, workers, () => decided(batches));
    const rate = batches.stats().inlineRowsPerSecond as number;
    expect(batches.stats().inline).toBe(true);
    const on = async (rows: number): Promise<string> => fromOf(await batches.run(feedsOf(rows), {}, workers.run));
    expect(await on(4)).toBe('calling thread');
    // Rows that would hold the calling thread over INLINE_BATCH_MAX_MS at the rate measured.
    expect(await on(Math.ceil((rate * INLINE_BATCH_MAX_MS) / 1000) + 1)).toBe('workers');
    othersBusy = true;
    expect(await on(4)).toBe('workers');
    othersBusy = false;
    expect(await on(4)).toBe('calling thread');
  }, 30_000);

  it('are not judged on phases in which the workers answered nothing: measured again, then left on the workers', async () => {
    // Each worker run takes longer than a phase: no phase of the workers answers anything.
    const { workers, batches } = standIns({ workerMs: 150 });
    const seen = new Set<string>();
    await load(
      batches,
      workers,
      () => {
        seen.add(batches.stats().reason.replace(/:.*/s, ''));
        return decided(batches);
      },
      () => 4,
      64,
    );
    expect(batches.stats()).toMatchObject({ inline: false, trials: 1, workerRowsPerSecond: 0 });
    expect(batches.stats().inlineRowsPerSecond).toBeGreaterThan(0);
    expect(batches.stats().reason).toMatch(/; the calling thread needs 1\.1× in every pair to be worth it\.$/);
    expect([...seen]).toEqual(['Not measured yet', 'Being measured', 'Overlapping runs stay on the workers']);
  }, 30_000);

  it('are not measured while other models work: the trial starts over', async () => {
    let othersBusy = false;
    const { session, workers, batches } = standIns({ othersBusy: () => othersBusy });
    await load(batches, workers, () => batches.stats().reason.startsWith('Being measured'));
    othersBusy = true;
    const sessionRuns = session.runs;
    await load(batches, workers, () => workers.runs > 2 * BUSY_RUNS_BEFORE_TRIAL + 400);
    expect(batches.stats().reason).toMatch(/^Being measured/);
    expect(session.runs).toBe(sessionRuns);
    othersBusy = false;
    await load(batches, workers, () => decided(batches));
    expect(batches.stats().inline).toBe(true);
  }, 30_000);

  it('released with runs queued on the calling thread: they finish, then the session is released', async () => {
    const { session, workers, batches } = standIns();
    await load(batches, workers, () => decided(batches));
    const queued = Array.from({ length: 8 }, () => batches.run(feedsOf(4), {}, workers.run));
    expect(batches.running).toBe(8);
    const released = batches.disable('The session was released.');
    expect(session.released).toBe(false);
    for (const out of await Promise.all(queued)) expect(fromOf(out)).toBe('calling thread');
    await released;
    expect(session.released).toBe(true);
    expect(batches.stats()).toEqual({ inline: false, reason: 'The session was released.' });
    expect(fromOf(await batches.run(feedsOf(4), {}, workers.run))).toBe('workers');
  }, 30_000);
});

describe('a real model under a concurrent load', () => {
  it('is measured on the load; whichever way it goes, every answer matches the workers', async () => {
    const { onnx, test } = tinyMnist();
    const rows = Array.from({ length: 16 }, (_, i) => test.images.slice(i * 784, (i + 1) * 784));
    const measured = await loadModel(onnx, { logger: silentLogger });
    const workers = await loadModel(onnx, { logger: silentLogger, inline: false });
    const probabilities = (out: unknown): number[] =>
      Array.from((out as Record<string, { data: Float32Array }>).probabilities?.data ?? []);
    try {
      await Promise.all([measured.ready(), workers.ready()]);
      const expected = (await Promise.all(rows.map((row) => workers.predict(row)))).map(probabilities);
      const reason = (m: Model): string => m.stats().execution?.batches?.reason ?? '';
      expect(reason(measured)).toMatch(/^Not measured yet/);
      expect(reason(workers)).toBe('inline: false was set.');
      const deadline = performance.now() + 20_000;
      let calls = 0;
      await Promise.all(
        Array.from({ length: 32 }, async (_, c) => {
          for (let i = c; !/^Overlapping runs/.test(reason(measured)); i++) {
            if (performance.now() > deadline) throw new Error(`never measured: ${reason(measured)}`);
            const got = probabilities(await measured.predict(rows[i % rows.length] as Float32Array));
            const want = expected[i % rows.length] as number[];
            expect(got).toHaveLength(10);
            got.forEach((v, j) => expect(v).toBeCloseTo(want[j] as number, 6));
            calls++;
          }
        }),
      );
      expect(calls).toBeGreaterThan(BUSY_RUNS_BEFORE_TRIAL);
      const batches = measured.stats().execution?.batches;
      expect(batches?.trials).toBe(1);
      expect(batches?.inlineRowsPerSecond).toBeGreaterThan(0);
      expect(batches?.workerRowsPerSecond).toBeGreaterThan(0);
      expect(batches?.rowsPerRun).toBeGreaterThan(1);
      expect(batches?.reason).toMatch(
        batches?.inline ? /^Overlapping runs run on the calling thread/ : /^Overlapping runs stay on the workers/,
      );
      // Answers stay right after the choice, too.
      const after = await Promise.all(rows.map((row) => measured.predict(row)));
      after.forEach((out, i) =>
        probabilities(out).forEach((v, j) => expect(v).toBeCloseTo((expected[i] as number[])[j] as number, 6)),
      );
    } finally {
      await Promise.all([measured.close(), workers.close()]);
    }
  }, 60_000);
});
