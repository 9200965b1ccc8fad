/**
 * The batcher's scheduling, driven by an executor the test releases by hand so every interleaving is
 * deterministic. The executor computes y = x * 10 + row, so a request that got another request's rows back
 * would be caught.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { loadModel, silentLogger } from 'modelship';
import { Batcher, type BatchExecutor, type BatcherConfig } from '../../src/serving/batching/index.js';
import { BatchBuffers, MAX_POOLED_BYTES } from '../../src/serving/batching/batch-buffers.js';
import { ModelshipError } from '../../src/errors/index.js';
import type { TensorLike } from '../../src/spec/tensor.js';
import { rejection } from '../helpers/errors.js';
import { addOneModel, tempFile } from '../helpers/models.js';

type Feeds = Readonly<Record<string, TensorLike>>;

interface Call {
  feeds: Feeds;
  rows: number;
  release(): void;
  fail(error: unknown): void;
}

class ManualExecutor implements BatchExecutor {
  readonly calls: Call[] = [];
  #waiters: (() => void)[] = [];
  transform: (feeds: Feeds) => Record<string, TensorLike> = (feeds) => {
    const x = feeds.x as TensorLike;
    const data = Float32Array.from(x.data as Float32Array, (v) => v * 10);
    return { y: { dtype: 'float32', shape: [...x.shape], data } };
  };
  constructor(
    readonly concurrency = 1,
    readonly depth = 1,
  ) {}

  run(feeds: Feeds): Promise<Record<string, TensorLike>> {
    return new Promise((resolve, reject) => {
      this.calls.push({
        feeds,
        rows: (feeds.x as TensorLike).shape[0] as number,
        release: () => resolve(this.transform(feeds)),
        fail: reject,
      });
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** Resolves once `n` runs have started. */
  async started(n: number): Promise<Call> {
    while (this.calls.length < n) await new Promise<void>((r) => this.#waiters.push(r));
    return this.calls[n - 1] as Call;
  }
}

const config = (over: Partial<BatcherConfig> = {}): BatcherConfig => ({
  enabled: true,
  maxBatchSize: 8,
  maxQueueDelayMs: 0,
  preferredBatchSizes: [],
  maxQueueSize: 100,
  ...over,
});

/** `rows` rows of width 2 whose values identify the request: request r, row i → [r*100+i, r*100+i+0.5]. */
function rowsOf(r: number, rows: number, width = 2): Feeds {
  const data = new Float32Array(rows * width);
  for (let i = 0; i < rows; i++) for (let j = 0; j < width; j++) data[i * width + j] = r * 100 + i + j / width;
  return { x: { dtype: 'float32', shape: [rows, width], data } };
}

const expected = (feeds: Feeds): number[] => Array.from((feeds.x as TensorLike).data as Float32Array, (v) => v * 10);
const values = (out: Record<string, TensorLike>): number[] => Array.from(out.y?.data as Float32Array);

/** Every request was answered with the results of its own rows, whatever batch it ran in. */
async function expectOwnAnswers(
  pending: readonly Promise<Record<string, TensorLike>>[],
  requests: readonly Feeds[],
): Promise<void> {
  const outs = await Promise.all(pending);
  outs.forEach((out, i) => expect(values(out)).toEqual(expected(requests[i] as Feeds)));
}

describe('Batcher', () => {
  it('joins requests of mixed sizes that queued while the executor was busy, and splits the result per request', async () => {
    const exec = new ManualExecutor();
    const batcher = new Batcher(exec, config());
    const first = batcher.submit(rowsOf(0, 1));
    (await exec.started(1)).release();
    const blocker = batcher.submit(rowsOf(9, 1));
    const busy = await exec.started(2);
    const requests = [rowsOf(1, 1), rowsOf(2, 2), rowsOf(3, 3)];
    const pending = requests.map((f) => batcher.submit(f));
    expect(batcher.queueDepth).toBe(3);
    busy.release();
    const batch = await exec.started(3);
    expect(batch.rows).toBe(6);
    batch.release();
    const outs = await Promise.all(pending);
    outs.forEach((out, i) => {
      expect(values(out)).toEqual(expected(requests[i] as Feeds));
      expect(out.y?.shape).toEqual([(requests[i]?.x as TensorLike).shape[0], 2]);
    });
    await Promise.all([first, blocker]);
    expect(exec.calls.map((c) => c.rows)).toEqual([1, 1, 6]);
  });

  it('never puts more than maxBatchSize rows in a batch, and keeps requests whole when they fit', async () => {
    const exec = new ManualExecutor();
    const batcher = new Batcher(exec, config({ maxBatchSize: 4 }));
    const blocker = batcher.submit(rowsOf(0, 1));
    const held = await exec.started(1);
    const requests = [rowsOf(1, 3), rowsOf(2, 2), rowsOf(3, 1), rowsOf(4, 2)];
    const pending = requests.map((f) => batcher.submit(f));
    held.release();
    for (let i = 2; i <= 3; i++) (await exec.started(i)).release();
    await expectOwnAnswers(pending, requests);
    await blocker;
    // The 2-row request does not fit beside the 3-row one, the 1-row one behind it does: [3+1], then [2+2].
    expect(exec.calls.slice(1).map((c) => c.rows)).toEqual([4, 4]);
    expect(Math.max(...exec.calls.map((c) => c.rows))).toBeLessThanOrEqual(4);
  });

  it('shares what queued among free slots instead of piling it onto one (no queue delay)', async () => {
    const exec = new ManualExecutor(2);
    const batcher = new Batcher(exec, config({ maxBatchSize: 64 }));
    const requests = Array.from({ length: 8 }, (_, i) => rowsOf(i, 1));
    const pending = requests.map((f) => batcher.submit(f));
    const first = await exec.started(1);
    const second = await exec.started(2);
    expect([first.rows, second.rows]).toEqual([4, 4]);
    first.release();
    second.release();
    await expectOwnAnswers(pending, requests);
  });

  it('splits a request larger than maxBatchSize into parts and joins their outputs in order', async () => {
    const exec = new ManualExecutor(2);
    const batcher = new Batcher(exec, config({ maxBatchSize: 4 }));
    const big = rowsOf(5, 10);
    const pending = batcher.submit(big);
    (await exec.started(1)).release();
    (await exec.started(2)).release();
    (await exec.started(3)).release();
    const out = await pending;
    expect(exec.calls.map((c) => c.rows)).toEqual([4, 4, 2]);
    expect(out.y?.shape).toEqual([10, 2]);
    expect(values(out)).toEqual(expected(big));
  });

  it('does not join requests whose other dimensions differ', async () => {
    const exec = new ManualExecutor();
    const batcher = new Batcher(exec, config());
    const blocker = batcher.submit(rowsOf(0, 1));
    const held = await exec.started(1);
    const narrow = batcher.submit(rowsOf(1, 1, 2));
    const wide = batcher.submit(rowsOf(2, 1, 3));
    const narrow2 = batcher.submit(rowsOf(3, 1, 2));
    held.release();
    (await exec.started(2)).release();
    (await exec.started(3)).release();
    await Promise.all([blocker, narrow, wide, narrow2]);
    expect(exec.calls.slice(1).map((c) => (c.feeds.x as TensorLike).shape)).toEqual([
      [2, 2],
      [1, 3],
    ]);
  });

  it('with batching disabled passes each request to the executor exactly as given', async () => {
    const exec = new ManualExecutor();
    const batcher = new Batcher(exec, config({ enabled: false, maxBatchSize: 2 }));
    const blocker = batcher.submit(rowsOf(0, 1));
    const held = await exec.started(1);
    const feeds = [rowsOf(1, 3), rowsOf(2, 1)];
    const pending = feeds.map((f) => batcher.submit(f));
    held.release();
    (await exec.started(2)).release();
    (await exec.started(3)).release();
    await Promise.all([blocker, ...pending]);
    expect(exec.calls[1]?.feeds).toBe(feeds[0]);
    expect(exec.calls[2]?.feeds).toBe(feeds[1]);
  });

  it('drops a request whose deadline passes in the queue before it reaches the executor', async () => {
    const exec = new ManualExecutor();
    const batcher = new Batcher(exec, config());
    const blocker = batcher.submit(rowsOf(0, 1));
    const held = await exec.started(1);
    const late = rejection(batcher.submit(rowsOf(1, 1), { deadlineMs: 5 }));
    const error = await late;
    expect(error.code).toBe('DEADLINE_EXCEEDED');
    expect(error.httpStatus).toBe(504);
    expect(error.details).toMatchObject({ queued: true, deadlineMs: 5 });
    expect(batcher.queueDepth).toBe(0);
    held.release();
    await blocker;
    await batcher.drain();
    expect(exec.calls).toHaveLength(1);
  });

  it('fails a running request at its deadline without disturbing the rest of its batch', async () => {
    const exec = new ManualExecutor();
    const batcher = new Batcher(exec, config());
    const blocker = batcher.submit(rowsOf(0, 1));
    const held = await exec.started(1);
    const patient = batcher.submit(rowsOf(1, 1));
    const hasty = rejection(batcher.submit(rowsOf(2, 1), { deadlineMs: 30 }));
    held.release();
    const batch = await exec.started(2);
    expect(batch.rows).toBe(2);
    expect((await hasty).details).toMatchObject({ queued: false });
    batch.release();
    expect(values(await patient)).toEqual(expected(rowsOf(1, 1)));
    await blocker;
  });

  it('rejects with ABORTED when the signal fires while queued (never run) or while running', async () => {
    const exec = new ManualExecutor();
    const batcher = new Batcher(exec, config());
    const runningCtl = new AbortController();
    const running = rejection(batcher.submit(rowsOf(0, 1), { signal: runningCtl.signal }));
    const held = await exec.started(1);
    const queuedCtl = new AbortController();
    const queued = rejection(batcher.submit(rowsOf(1, 1), { signal: queuedCtl.signal }));
    const other = batcher.submit(rowsOf(2, 1));
    queuedCtl.abort();
    runningCtl.abort();
    expect((await queued).code).toBe('ABORTED');
    expect((await running).code).toBe('ABORTED');
    held.release();
    const next = await exec.started(2);
    expect(next.rows).toBe(1);
    next.release();
    expect(values(await other)).toEqual(expected(rowsOf(2, 1)));
    const already = new AbortController();
    already.abort();
    expect((await rejection(batcher.submit(rowsOf(3, 1), { signal: already.signal }))).code).toBe('ABORTED');
  });

  it('serves many requests sharing one signal (one per HTTP connection), then aborts those still pending when it fires', async () => {
    const exec = new ManualExecutor();
    const batcher = new Batcher(exec, config({ enabled: false }));
    const shared = new AbortController();
    let listeners = 0;
    const add = shared.signal.addEventListener.bind(shared.signal);
    shared.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners++;
      add(...args);
    }) as typeof add;
    // Earlier requests on the signal finish normally.
    for (let r = 0; r < 3; r++) {
      const done = batcher.submit(rowsOf(r, 1), { signal: shared.signal });
      (await exec.started(r + 1)).release();
      expect(values(await done)).toEqual(expected(rowsOf(r, 1)));
    }
    expect(listeners).toBe(1);
    // One running and two queued on the same signal, one queued on another: the abort takes the three.
    const running = rejection(batcher.submit(rowsOf(3, 1), { signal: shared.signal }));
    const held = await exec.started(4);
    const queued = [
      rejection(batcher.submit(rowsOf(4, 1), { signal: shared.signal })),
      rejection(batcher.submit(rowsOf(5, 1), { signal: shared.signal })),
    ];
    const other = batcher.submit(rowsOf(6, 1), { signal: new AbortController().signal });
    shared.abort();
    expect((await running).code).toBe('ABORTED');
    expect((await Promise.all(queued)).map((e) => e.code)).toEqual(['ABORTED', 'ABORTED']);
    expect(batcher.queueDepth).toBe(1);
    held.release();
    const next = await exec.started(5);
    next.release();
    expect(values(await other)).toEqual(expected(rowsOf(6, 1)));
    expect((await rejection(batcher.submit(rowsOf(7, 1), { signal: shared.signal }))).code).toBe('ABORTED');
  });

  it('answers QUEUE_FULL (429, retryable) once maxQueueSize requests wait', async () => {
    const exec = new ManualExecutor();
    const batcher = new Batcher(exec, config({ maxQueueSize: 2 }));
    const blocker = batcher.submit(rowsOf(0, 1));
    const held = await exec.started(1);
    const waiting = [batcher.submit(rowsOf(1, 1)), batcher.submit(rowsOf(2, 1))];
    const error = await rejection(batcher.submit(rowsOf(3, 1)));
    expect([error.code, error.httpStatus, error.retryable]).toEqual(['QUEUE_FULL', 429, true]);
    expect(error.details).toMatchObject({ queueDepth: 2, maxQueueSize: 2 });
    held.release();
    (await exec.started(2)).release();
    await Promise.all([blocker, ...waiting]);
  });

  it('serves high priority before normal and normal before low', async () => {
    const exec = new ManualExecutor();
    const batcher = new Batcher(exec, config({ enabled: false }));
    const blocker = batcher.submit(rowsOf(0, 1));
    const held = await exec.started(1);
    const order: string[] = [];
    const p = [
      batcher.submit(rowsOf(1, 1), { priority: 'low' }).then(() => order.push('low')),
      batcher.submit(rowsOf(2, 1)).then(() => order.push('normal')),
      batcher.submit(rowsOf(3, 1), { priority: 'high' }).then(() => order.push('high')),
    ];
    held.release();
    for (let i = 2; i <= 4; i++) (await exec.started(i)).release();
    await Promise.all([blocker, ...p]);
    expect(exec.calls.slice(1).map((c) => ((c.feeds.x as TensorLike).data as Float32Array)[0])).toEqual([
      300, 200, 100,
    ]);
    expect(order).toEqual(['high', 'normal', 'low']);
  });

  it('waits up to maxQueueDelayMs for a fuller batch, and leaves at once on a preferred size', async () => {
    const exec = new ManualExecutor();
    const batcher = new Batcher(exec, config({ maxQueueDelayMs: 10_000, preferredBatchSizes: [2] }));
    const a = batcher.submit(rowsOf(1, 1));
    await new Promise((r) => setImmediate(r));
    expect(exec.calls).toHaveLength(0); // waiting for a second request (or 10 s)
    const b = batcher.submit(rowsOf(2, 1));
    const batch = await exec.started(1);
    expect(batch.rows).toBe(2);
    batch.release();
    await Promise.all([a, b]);
  });

  it('stops batching, and still answers, when a model does not keep the batch dimension in its outputs', async () => {
    const exec = new ManualExecutor();
    exec.transform = (feeds) => {
      const sum = ((feeds.x as TensorLike).data as Float32Array).reduce((s, v) => s + v, 0);
      return { y: { dtype: 'float32', shape: [1], data: new Float32Array([sum]) } };
    };
    const warnings: string[] = [];
    const batcher = new Batcher(exec, config(), { unbatchable: (m) => warnings.push(m) });
    const blocker = batcher.submit(rowsOf(0, 1));
    const held = await exec.started(1);
    const pending = [batcher.submit(rowsOf(1, 1)), batcher.submit(rowsOf(2, 1))];
    held.release();
    (await exec.started(2)).release(); // the joined batch: its output has 1 row for 2 requests
    (await exec.started(3)).release();
    (await exec.started(4)).release();
    const outs = await Promise.all(pending);
    // Run alone, each request gets the sum of its own row: 100 + 100.5 and 200 + 200.5.
    expect(outs.map((o) => values(o))).toEqual([[200.5], [400.5]]);
    expect(warnings).toHaveLength(1);
    await blocker;
  });

  it('drain() resolves only once queued and running work is done; executor failures reach every request of the batch', async () => {
    const exec = new ManualExecutor();
    const batcher = new Batcher(exec, config());
    const blocker = batcher.submit(rowsOf(0, 1));
    const held = await exec.started(1);
    const pending = [rejection(batcher.submit(rowsOf(1, 1))), rejection(batcher.submit(rowsOf(2, 1)))];
    let drained = false;
    const drain = batcher.drain().then(() => (drained = true));
    held.release();
    await blocker;
    expect(drained).toBe(false);
    (await exec.started(2)).fail(new ModelshipError('INFERENCE_FAILED', 'boom'));
    const errors = await Promise.all(pending);
    expect(errors.map((e) => e.code)).toEqual(['INFERENCE_FAILED', 'INFERENCE_FAILED']);
    await drain;
    expect(drained).toBe(true);
  });
});

describe('batches queued behind a busy worker (executor depth 2)', () => {
  it('sends the next batch behind a running one, but keeps a request with a deadline or a priority queued until a worker is free', async () => {
    const exec = new ManualExecutor(1, 2);
    const batcher = new Batcher(exec, config());
    const first = batcher.submit(rowsOf(0, 1));
    const running = await exec.started(1);
    // The worker is busy: an ordinary request goes behind it at once.
    const behind = batcher.submit(rowsOf(1, 2));
    expect((await exec.started(2)).rows).toBe(2);
    expect(batcher.running).toBe(2);
    running.release();
    (exec.calls[1] as Call).release();
    await Promise.all([first, behind]);

    const held = batcher.submit(rowsOf(2, 1));
    const busy = await exec.started(3);
    const urgent = batcher.submit(rowsOf(3, 1), { priority: 'high' });
    const timed = batcher.submit(rowsOf(4, 1), { deadlineMs: 60_000 });
    await new Promise((r) => setImmediate(r));
    expect(exec.calls).toHaveLength(3); // both wait in the queue, not behind the busy worker
    expect(batcher.queueDepth).toBe(2);
    busy.release();
    const next = await exec.started(4);
    expect(next.rows).toBe(2); // together once the worker is free, in one batch
    next.release();
    await expectOwnAnswers([held, urgent, timed], [rowsOf(2, 1), rowsOf(3, 1), rowsOf(4, 1)]);
  });
});

describe('batch input memory', () => {
  it('is reused for a later batch only once the run that read it has settled', async () => {
    const exec = new ManualExecutor(2);
    const batcher = new Batcher(exec, config());
    const bufferOf = (call: Call): ArrayBufferLike => ((call.feeds.x as TensorLike).data as Float32Array).buffer;
    // Both slots busy: what comes next queues and leaves as batches.
    const blockers = [batcher.submit(rowsOf(0, 1)), batcher.submit(rowsOf(1, 1))];
    await exec.started(2);
    const firstFeeds = [rowsOf(2, 2), rowsOf(3, 1)];
    const first = firstFeeds.map((f) => batcher.submit(f));
    exec.calls[0]?.release();
    const a = await exec.started(3);
    expect(a.rows).toBe(3);
    // A second batch forms while the first is still running (its inputs are read when it is released).
    const secondFeeds = [rowsOf(4, 1), rowsOf(5, 2)];
    const second = secondFeeds.map((f) => batcher.submit(f));
    exec.calls[1]?.release();
    const b = await exec.started(4);
    expect(b.rows).toBe(3);
    expect(bufferOf(b)).not.toBe(bufferOf(a));
    b.release();
    a.release();
    await Promise.all(blockers);
    await expectOwnAnswers(first, firstFeeds);
    await expectOwnAnswers(second, secondFeeds);
    // Once both have settled, the next batch writes into one of their buffers, and still gets its own answers.
    const moreBlockers = [batcher.submit(rowsOf(6, 1)), batcher.submit(rowsOf(7, 1))];
    await exec.started(6);
    const thirdFeeds = [rowsOf(8, 1), rowsOf(9, 1)];
    const third = thirdFeeds.map((f) => batcher.submit(f));
    exec.calls[4]?.release();
    const c = await exec.started(7);
    expect([bufferOf(a), bufferOf(b)]).toContain(bufferOf(c));
    c.release();
    exec.calls[5]?.release();
    await Promise.all(moreBlockers);
    await expectOwnAnswers(third, thirdFeeds);
  });

  it('keeps at most one spare per batch that can run at once, and never pools very large buffers', () => {
    const buffers = new BatchBuffers(2);
    const views = [buffers.take('float32', 10, 16), buffers.take('float32', 12, 16), buffers.take('float32', 16, 16)];
    expect(views.map((v) => v.length)).toEqual([10, 12, 16]);
    expect(new Set(views.map((v) => v.buffer)).size).toBe(3);
    for (const v of views) buffers.give(v);
    const again = [buffers.take('float32', 16, 16), buffers.take('float32', 16, 16), buffers.take('float32', 16, 16)];
    const reused = again.filter((v) => views.some((old) => old.buffer === v.buffer));
    expect(reused).toHaveLength(2);
    // Same byte size, another dtype: the memory is shared across dtypes.
    buffers.give(again[0] as Float32Array);
    expect(buffers.take('int32', 16, 16).buffer).toBe((again[0] as Float32Array).buffer);
    const huge = buffers.take('float32', 8, MAX_POOLED_BYTES / 4 + 1);
    expect(huge.length).toBe(8);
    buffers.give(huge);
    expect(buffers.take('float32', 8, MAX_POOLED_BYTES / 4 + 1).buffer).not.toBe(huge.buffer);
  });
});

describe('abort listeners', () => {
  it('a closed model leaves no listener on the signals it saw (a keep-alive connection outliving a reloaded model)', async () => {
    const connection = new AbortController();
    const other = new AbortController();
    const model = await loadModel(await tempFile(addOneModel()), { workers: 1, logger: silentLogger });
    for (let i = 0; i < 3; i++) await model.predict([[1, 2, 3, 4]], { signal: connection.signal });
    await model.predict([[1, 2, 3, 4]], { signal: other.signal });
    // One listener per signal while the model is open, however many requests shared it.
    expect(getEventListeners(connection.signal, 'abort')).toHaveLength(1);
    await model.close();
    expect(getEventListeners(connection.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(0);
  });

  it('close() takes the listeners off after a drain, and an aborted signal forgotten earlier is no trouble', async () => {
    const executor = new ManualExecutor();
    const batcher = new Batcher(executor, config({ enabled: false }));
    const live = new AbortController();
    const aborted = new AbortController();
    const first = batcher.submit(rowsOf(1, 1), { signal: live.signal });
    const second = batcher.submit(rowsOf(2, 1), { signal: aborted.signal });
    aborted.abort();
    expect((await rejection(second)).code).toBe('ABORTED');
    (await executor.started(1)).release();
    await first;
    expect(getEventListeners(live.signal, 'abort')).toHaveLength(1);
    await batcher.drain();
    batcher.close();
    expect(getEventListeners(live.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(aborted.signal, 'abort')).toHaveLength(0);
  });
});
