/**
 * The contract every TrackingClient honours, run against each implementation on a real backend (a directory,
 * or a test server on a real port). An implementation's test supplies a factory and a reader that fetches a
 * run back from where the tracker wrote it, in one neutral shape.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ModelshipError, type ErrorCode } from '../errors/index.js';
import type { RemoteRunRef, TrackingClient, TrackingRun } from '../spec/tracking.js';

/** A run as stored by the backend, in a shape every reader can produce. */
export interface StoredRunView {
  name: string;
  experiment: string;
  status: 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED';
  params: Record<string, string>;
  /** User tags (backend-specific system tags may be present too). */
  tags: Record<string, string>;
  /** Points per metric key, in stored order. */
  metrics: Record<string, { step: number; value: number }[]>;
  artifacts: Record<string, Buffer>;
}

/** What `testTracker`'s factory gives for one test: the tracker and ways to read back what reached its backend. */
export interface TrackerHarness {
  /** The tracker under test, on a real backend (a directory, or a server on a real port). */
  tracker: TrackingClient;
  /** Errors the tracker reported to `onError`. */
  errors: ModelshipError[];
  /** Reads a run back from the backend (after the test flushed). */
  read(run: RemoteRunRef): Promise<StoredRunView>;
  /** Requests the backend received so far, for "nothing was sent" checks; local trackers return 0. */
  requestCount(): number;
}

function expectCode(fn: () => unknown, code: ErrorCode, message?: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(ModelshipError.hasCode(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
  if (message !== undefined) expect((error as Error).message).toMatch(message);
}

/** Registers the contract tests for one tracker implementation. `create` is called once per test. */
export function testTracker(name: string, create: () => Promise<TrackerHarness>): void {
  describe(`TrackingClient contract: ${name}`, () => {
    let harness: TrackerHarness;
    const started: TrackingClient[] = [];

    const setup = async (): Promise<TrackerHarness> => {
      harness = await create();
      started.push(harness.tracker);
      return harness;
    };
    const delivered = async (run: TrackingRun): Promise<StoredRunView> => {
      const report = await harness.tracker.flush({ timeoutMs: 20_000 });
      expect(report).toMatchObject({ delivered: true, pendingRecords: 0 });
      return harness.read(await run.remote());
    };

    afterEach(async () => {
      await Promise.all(started.splice(0).map((t) => t.close({ timeoutMs: 5000 })));
    });

    it('records params, metrics per step, tags, artifacts and the end status', async () => {
      const { tracker } = await setup();
      expect(tracker.specificationVersion).toBe('v1');
      const run = await tracker.startRun({ experiment: 'contract', name: 'full', tags: { team: 'ml' } });
      expect(run).toMatchObject({ experiment: 'contract', name: 'full' });
      run.logParams({ lr: 0.1, optimizer: 'sgd', shuffle: true });
      for (let step = 0; step < 5; step++)
        run.logMetrics({ loss: 1 / (step + 1), 'eval/accuracy': step / 10 }, { step });
      run.setTags({ stage: 'candidate' });
      await run.logArtifact(new TextEncoder().encode('{"lr":0.1}'), 'config/params.json');
      await run.end('FINISHED');
      const stored = await delivered(run);
      expect(stored.name).toBe('full');
      expect(stored.experiment).toBe('contract');
      expect(stored.status).toBe('FINISHED');
      expect(stored.params).toEqual({ lr: '0.1', optimizer: 'sgd', shuffle: 'true' });
      expect(stored.tags).toMatchObject({ team: 'ml', stage: 'candidate' });
      expect(stored.metrics.loss?.map((p) => p.step)).toEqual([0, 1, 2, 3, 4]);
      expect(stored.metrics.loss?.[1]?.value).toBeCloseTo(0.5);
      expect(stored.metrics['eval/accuracy']?.map((p) => p.value)).toEqual([0, 0.1, 0.2, 0.3, 0.4]);
      expect(stored.artifacts['config/params.json']?.toString()).toBe('{"lr":0.1}');
    });

    it('numbers steps itself when none is given, and keeps NaN and Infinity', async () => {
      const { tracker } = await setup();
      const run = await tracker.startRun({ experiment: 'contract' });
      run.logMetrics({ loss: 3 });
      run.logMetrics({ loss: Number.NaN });
      run.logMetrics({ loss: Number.POSITIVE_INFINITY }, { step: 10 });
      run.logMetrics({ loss: 1 });
      await run.end();
      const stored = await delivered(run);
      expect(stored.metrics.loss?.map((p) => p.step)).toEqual([0, 1, 10, 11]);
      expect(stored.metrics.loss?.map((p) => p.value)).toEqual([3, Number.NaN, Number.POSITIVE_INFINITY, 1]);
    });

    it('refuses a param over 6000 characters, or changed, with INVALID_PARAM before anything is sent', async () => {
      const { tracker } = await setup();
      const run = await tracker.startRun({ experiment: 'contract' });
      await tracker.flush({ timeoutMs: 20_000 });
      const before = harness.requestCount();
      expectCode(() => run.logParams({ notes: 'x'.repeat(7000) }), 'INVALID_PARAM', /"notes" is 7000 characters long/);
      run.logParams({ lr: 0.1 });
      run.logParams({ lr: '0.1' }); // the same value again is fine
      expectCode(() => run.logParams({ lr: 0.2 }), 'INVALID_PARAM', /already logged as "0\.1"/);
      expectCode(() => run.logParams({ '../escape': 1 }), 'INVALID_PARAM');
      expectCode(() => run.logMetrics({ loss: '1' as unknown as number }), 'INVALID_ARGUMENT');
      expectCode(() => run.logMetrics({ 'bad*name': 1 }), 'INVALID_ARGUMENT');
      expectCode(() => run.setTags({ note: 'y'.repeat(5001) }), 'INVALID_ARGUMENT');
      expectCode(() => run.logMetrics({ loss: 1 }, { step: 1.5 }), 'INVALID_ARGUMENT');
      await expect(run.logArtifact(new Uint8Array(1), '../outside')).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await run.end();
      const stored = await delivered(run);
      expect(stored.params).toEqual({ lr: '0.1' });
      expect(stored.metrics).toEqual({});
      // One request at most per kind of record actually logged (lr, end): the refused calls sent nothing.
      expect(harness.requestCount() - before).toBeLessThanOrEqual(2);
    });

    it('drops calls on an ended run and reports them instead of throwing', async () => {
      const { tracker, errors } = await setup();
      const run = await tracker.startRun({ experiment: 'contract' });
      run.logMetrics({ loss: 1 }, { step: 0 });
      await run.end('FAILED');
      expect(() => run.logMetrics({ loss: 2 }, { step: 1 })).not.toThrow();
      expect(errors.some((e) => e.code === 'INVALID_ARGUMENT' && /after it ended/.test(e.message))).toBe(true);
      const stored = await delivered(run);
      expect(stored.status).toBe('FAILED');
      expect(stored.metrics.loss?.map((p) => p.step)).toEqual([0]);
    });

    it('keeps concurrent runs apart', async () => {
      const { tracker } = await setup();
      const [a, b] = await Promise.all([
        tracker.startRun({ experiment: 'contract', name: 'a' }),
        tracker.startRun({ experiment: 'contract', name: 'b' }),
      ]);
      for (let step = 0; step < 20; step++) {
        a.logMetrics({ m: step }, { step });
        b.logMetrics({ m: -step - 1 }, { step });
      }
      a.logParams({ which: 'a' });
      b.logParams({ which: 'b' });
      await Promise.all([a.end(), b.end('KILLED')]);
      const [sa, sb] = [await delivered(a), await delivered(b)];
      expect(sa.params.which).toBe('a');
      expect(sb.params.which).toBe('b');
      expect(sa.metrics.m?.map((p) => p.value)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(sb.metrics.m?.map((p) => p.value)).toEqual(Array.from({ length: 20 }, (_, i) => -i - 1));
      expect(sb.status).toBe('KILLED');
    });

    it('close() ends open runs as FINISHED, delivers, and refuses new runs', async () => {
      const { tracker } = await setup();
      const run = await tracker.startRun({ experiment: 'contract' });
      run.logMetrics({ loss: 1 });
      const ref = await run.remote();
      expect(ref.runId).toEqual(expect.any(String));
      expect(ref.trackingUri).toBe(tracker.trackingUri);
      const report = await tracker.close({ timeoutMs: 20_000 });
      expect(report).toMatchObject({ delivered: true, pendingRecords: 0 });
      expect((await harness.read(await run.remote())).status).toBe('FINISHED');
      await expect(tracker.startRun({ experiment: 'contract' })).rejects.toMatchObject({ code: 'NOT_READY' });
      await expect(tracker.startRun({ experiment: '' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });
  });
}
