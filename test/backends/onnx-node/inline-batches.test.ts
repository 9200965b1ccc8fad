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
  SUSTAINED_MS,
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
function standInWorkers(): { runs: number; run: (f: unknown) => Promise<Outputs> } {
  const workers = {
    runs: 0,
    async run(): Promise<Outputs> {
      await new Promise((resolve) => setTimeout(resolve, 1));
      workers.runs++;
      return answer('workers');
    },
  };
  return workers;
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

const decided = (b: InlineBatches): boolean => /^Overlapping runs/.test(b.stats().reason);

describe('overlapping runs on the calling thread', () => {
  it('are measured only once a load has gone on, then kept on the calling thread where it answers more rows', async () => {
    const session = standInSession();
    const workers = standInWorkers();
    const batches = new InlineBatches(() => false);
    expect(batches.stats()).toEqual({ inline: false, reason: 'Not measured: no overlapping runs seen yet.' });
    let opened = 0;
    batches.prepare(async () => {
      opened++;
      return session;
    });
    expect(batches.stats().reason).toMatch(/^Not measured yet/);
    // Fewer runs than needed, or not for long enough: nothing is opened.
    const started = performance.now();
    await load(batches, workers, () => workers.runs >= BUSY_RUNS_BEFORE_TRIAL - 8);
    expect(opened).toBe(0);
    await load(batches, workers, () => batches.stats().reason.startsWith('Being measured'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(SUSTAINED_MS);
    expect(opened).toBe(1);
    await load(batches, workers, () => decided(batches));
    const stats = batches.stats();
    expect(stats).toMatchObject({ inline: true, rowsPerRun: 4, trials: 1 });
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
    const session = standInSession(INLINE_BATCH_MAX_MS + 1);
    const workers = standInWorkers();
    const batches = new InlineBatches(() => false);
    batches.prepare(async () => session);
    await load(batches, workers, () => decided(batches));
    const stats = batches.stats();
    expect(stats.inline).toBe(false);
    expect(stats.reason).toMatch(
      new RegExp(
        `^Overlapping runs stay on the workers: .*over the ${INLINE_BATCH_MAX_MS} ms the event loop may be blocked`,
      ),
    );
    expect(session.released).toBe(true);
    const before = session.runs;
    for (let i = 0; i < 10; i++) expect(fromOf(await batches.run(feedsOf(4), {}, workers.run))).toBe('workers');
    expect(session.runs).toBe(before);
  }, 30_000);

  it('stay on the workers when they answer more rows, even with runs short enough for the calling thread', async () => {
    // 1.2 ms of blocking work a run: 4 rows at a time, about 3k rows/s; 8 callers' runs overlap on the workers.
    const session = standInSession(1.2);
    const workers = standInWorkers();
    const batches = new InlineBatches(() => false);
    batches.prepare(async () => session);
    await load(batches, workers, () => decided(batches));
    const stats = batches.stats();
    expect(stats.inline).toBe(false);
    expect(stats.workerRowsPerSecond).toBeGreaterThan(stats.inlineRowsPerSecond as number);
    expect(stats.reason).toMatch(/; the calling thread needs 1\.1× to be worth it\.$/);
    expect(session.released).toBe(true);
  }, 30_000);

  it('go back to the workers when the load changes, until measured again', async () => {
    const session = standInSession();
    const workers = standInWorkers();
    const batches = new InlineBatches(() => false);
    batches.prepare(async () => session);
    await load(batches, workers, () => decided(batches));
    expect(batches.stats().inline).toBe(true);
    // Four times the rows a run: the choice no longer holds.
    await load(
      batches,
      workers,
      () => /^The load changed/.test(batches.stats().reason),
      () => 16,
    );
    expect(batches.stats()).toMatchObject({ inline: false, trials: 1 });
    const before = workers.runs;
    await batches.run(feedsOf(16), {}, workers.run);
    expect(workers.runs).toBe(before + 1);
  }, 30_000);

  it('are not measured while other models work: the trial starts over', async () => {
    const session = standInSession();
    const workers = standInWorkers();
    let othersBusy = false;
    const batches = new InlineBatches(() => othersBusy);
    batches.prepare(async () => session);
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
    const session = standInSession();
    const workers = standInWorkers();
    const batches = new InlineBatches(() => false);
    batches.prepare(async () => session);
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
