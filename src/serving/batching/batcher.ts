import { ModelshipError, toModelshipError } from '../../errors/index.js';
import type { TensorLike } from '../../spec/tensor.js';
import { batchKey, concatFeeds, outputsSplittable, releaseFeeds, sliceRows } from './assemble.js';
import { BatchBuffers } from './batch-buffers.js';
import { AbortWatchers } from './abort-watchers.js';
import type {
  BatcherConfig,
  BatchingStats,
  BatcherObserver,
  BatchExecutor,
  Feeds,
  Outputs,
  SubmitOptions,
} from './batcher-types.js';
import { makeEntries, joinPart, NO_ENTRIES, type Entry, type Pending } from './pending-request.js';
import { RequestQueue } from './request-queue.js';
import { deadlineError, queueFullError } from './batch-errors.js';
import { createBatchTuner, fixedBatchingStats, type BatchTuner } from './batch-tuner.js';

const now = (): number => performance.now();

/**
 * A dynamic batcher in front of an executor (Triton's dynamic batcher is the model): requests queue by
 * priority; whenever the executor has a free slot, the oldest request leaves together with the compatible
 * requests behind it, up to `maxBatchSize` rows, waiting at most `maxQueueDelayMs` for a fuller batch.
 * With a zero delay, batches form only from requests that queued while every slot was busy, so a lone caller
 * pays no batching latency. Dispatch is work-conserving: whatever leaves the queue is shared among the free
 * slots (a batch per free worker), with or without a delay, so no worker idles while requests wait.
 */
export class Batcher {
  readonly #executor: BatchExecutor;
  #config: BatcherConfig;
  readonly #observer: BatcherObserver;
  readonly #queue = new RequestQueue<Entry>();
  #batching: boolean;
  #running = 0;
  /** Batches in flight at most: the executor's slots times what each queues behind its current run. */
  readonly #capacity: number;
  #scheduled = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #idle: (() => void)[] = [];
  readonly #watchers = new AbortWatchers<Pending>((request, error) => this.#fail(request, error));
  readonly #buffers: BatchBuffers;
  /** Adaptive batching (when the configuration asks for it): measures, chooses, and watches live batches. */
  readonly tuner: BatchTuner | undefined;

  constructor(executor: BatchExecutor, config: BatcherConfig, observer: BatcherObserver = {}) {
    this.#executor = executor;
    this.#config = config;
    this.#observer = observer;
    this.#batching = config.enabled;
    this.#capacity = executor.concurrency * Math.max(1, executor.depth ?? 1);
    this.#buffers = new BatchBuffers(this.#capacity);
    this.tuner = createBatchTuner(config, (choice) => this.configure(choice), observer.tuned);
  }

  /** The batching in effect, the curve it was chosen from, and why. */
  batchingStats(): BatchingStats {
    return this.tuner?.stats() ?? fixedBatchingStats(this.#config);
  }

  /** Requests waiting (not yet running). */
  get queueDepth(): number {
    return this.#queue.size;
  }

  /** The configuration in effect (adaptive batching may change it; see {@link configure}). */
  get config(): BatcherConfig {
    return this.#config;
  }

  /** Changes the batch size and queue delay for batches formed from now on (adaptive batching's choice). */
  configure(update: Partial<Pick<BatcherConfig, 'maxBatchSize' | 'maxQueueDelayMs'>>): void {
    this.#config = { ...this.#config, ...update };
    this.#schedule();
  }

  /** Batches running now. */
  get running(): number {
    return this.#running;
  }

  /**
   * Queues feeds (already validated) and resolves with their outputs. `onDispatch` is called when the request
   * leaves the queue for a worker (tracing uses it).
   */
  submit(feeds: Feeds, options: SubmitOptions = {}, onDispatch?: () => void): Promise<Outputs> {
    const { signal, deadlineMs, outputs } = options;
    if (signal?.aborted) return Promise.reject(toModelshipError(signal.reason));
    if (this.#queue.size >= this.#config.maxQueueSize) {
      return Promise.reject(queueFullError(this.#queue.size, this.#config.maxQueueSize));
    }
    const priority = options.priority ?? 'normal';
    // The enqueue time drives maxQueueDelayMs and the queue-wait metric; skip the clock when neither needs it.
    const enqueuedAt = this.#config.maxQueueDelayMs > 0 || this.#observer.timed?.() !== false ? now() : 0;
    return new Promise<Outputs>((resolve, reject) => {
      const request: Pending = {
        settled: false,
        remaining: 1,
        parts: undefined,
        entries: NO_ENTRIES,
        resolve,
        reject,
        watchers: undefined,
        deadline: undefined,
        onDispatch,
        prevWatcher: undefined,
        nextWatcher: undefined,
      };
      const shape = this.#batching ? batchKey(feeds, outputs) : undefined;
      const entries = makeEntries(request, feeds, shape, this.#config.maxBatchSize, priority, outputs, enqueuedAt);
      for (let i = 0; i < entries.length; i++) this.#queue.push(entries[i] as Entry);
      if (signal || deadlineMs !== undefined) this.#watch(request, signal, deadlineMs);
      this.#schedule();
    });
  }

  /** Watches the request's signal and deadline (see AbortWatched for why in fields, not a closure). */
  #watch(request: Pending, signal: AbortSignal | undefined, deadlineMs: number | undefined): void {
    if (signal) this.#watchers.watch(request, signal);
    if (deadlineMs !== undefined) {
      request.deadline = setTimeout(() => {
        const queued = request.entries.some((e) => !e.dequeued);
        this.#fail(request, deadlineError(deadlineMs, queued));
      }, deadlineMs);
    }
  }

  /** Stops watching a settled request's signal and deadline. */
  #unwatch(request: Pending): void {
    this.#watchers.unwatch(request);
    if (request.deadline !== undefined) {
      clearTimeout(request.deadline);
      request.deadline = undefined;
    }
  }

  /**
   * Takes this batcher's listeners off every signal it saw (see AbortWatchers.close). Call after `drain()`;
   * requests submitted later are watched again.
   */
  close(): void {
    this.#watchers.close();
  }

  /** Settles a request with an error, dropping whatever of it is still queued. */
  #fail(request: Pending, error: unknown): void {
    if (request.settled) return;
    request.settled = true;
    this.#unwatch(request);
    for (const e of request.entries) this.#queue.drop(e);
    request.reject(error);
    this.#notifyIdle();
  }

  #succeed(request: Pending, out: Outputs): void {
    if (request.settled) return;
    request.settled = true;
    this.#unwatch(request);
    request.resolve(out);
  }

  #schedule(): void {
    if (this.#scheduled || this.#running >= this.#capacity) return;
    this.#scheduled = true;
    // A microtask, so that requests submitted in the same tick can leave together.
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#dispatch();
    });
  }

  #dispatch(): void {
    // After a batch has left in this round, the rest goes to the other free workers without waiting again.
    let first = true;
    while (this.#running < this.#capacity) {
      const head = this.#queue.peek();
      if (!head) break;
      // Every worker is running: a batch sent now waits behind one of them, committed to that worker. A
      // request with a deadline or a priority stays in this queue instead, where a higher priority can still
      // pass it and its deadline expires as a queued one; it leaves when a worker is free.
      if (this.#running >= this.#executor.concurrency && (head.priority !== 'normal' || head.request.deadline)) break;
      const batch = this.#collect(head, first);
      first = false;
      if (!batch) break; // waiting for a fuller batch; a timer calls back
      this.#queue.take(batch);
      this.#run(batch);
    }
  }

  /** The batch led by `head`, or undefined when it should wait for more requests. */
  #collect(head: Entry, mayHold: boolean): Entry[] | undefined {
    const { maxBatchSize, maxQueueDelayMs, preferredBatchSizes } = this.#config;
    if (!this.#batching || head.key === undefined) return [head];
    // Work-conserving: what is queued is shared among the free slots rather than piled onto the first. Two
    // workers each running half the rows answer sooner, in two waves the caller's thread handles in turn.
    const free = this.#executor.concurrency - this.#running;
    const queued = this.#queue.rows;
    const mayWait = mayHold && maxQueueDelayMs > 0 && queued < maxBatchSize;
    const share = free > 1 ? Math.min(maxBatchSize, Math.ceil(queued / free)) : maxBatchSize;
    const batch = this.#gather(head, mayWait ? maxBatchSize : share);
    if (!mayWait) return batch;
    // Reached a preferred size: leave with the largest preferred prefix.
    let best = -1;
    let sum = 0;
    for (let i = 0; i < batch.length; i++) {
      sum += (batch[i] as Entry).rows;
      if (preferredBatchSizes.includes(sum)) best = i;
    }
    if (best >= 0) return batch.slice(0, best + 1);
    const due = head.enqueuedAt + maxQueueDelayMs;
    if (now() < due) {
      this.#wakeAt(due);
      return undefined;
    }
    // The delay is over: a batch per free slot, not all of it for the first.
    if (free <= 1) return batch;
    let rows = 0;
    let n = 0;
    while (n < batch.length && (n === 0 || rows + (batch[n] as Entry).rows <= share))
      rows += (batch[n++] as Entry).rows;
    return n === batch.length ? batch : batch.slice(0, n);
  }

  /** `head` and the compatible entries behind it, up to `limit` rows. */
  #gather(head: Entry, limit: number): Entry[] {
    const batch: Entry[] = [head];
    let rows = head.rows;
    let scanned = 0;
    const scanLimit = 4 * this.#config.maxBatchSize;
    this.#queue.scan((e) => {
      if (rows >= limit || ++scanned > scanLimit) return false;
      if (e !== head && e.key === head.key && rows + e.rows <= limit) {
        batch.push(e);
        rows += e.rows;
      }
      return true;
    });
    return batch;
  }

  #wakeAt(at: number): void {
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Infinity;
        this.#dispatch();
      },
      Math.max(0, at - now()),
    );
  }

  #run(batch: Entry[]): void {
    // A batch sent while every slot runs one waits behind it there: its time is not the run's alone.
    const tuner = this.#running < this.#executor.concurrency ? this.tuner : undefined;
    this.#running++;
    const timed = this.#observer.timed?.() !== false;
    const started = timed || tuner ? now() : 0;
    let rows = 0;
    const waits: number[] = [];
    for (const e of batch) {
      rows += e.rows;
      if (timed && e.enqueuedAt > 0) waits.push((started - e.enqueuedAt) / 1000);
      e.request.onDispatch?.();
    }
    if (timed)
      this.#observer.dispatched?.(batch.length === 1 && (batch[0] as Entry).key === undefined ? 1 : rows, waits);
    const single = batch.length === 1 ? (batch[0] as Entry) : undefined;
    const feeds = single
      ? single.feeds
      : concatFeeds(
          batch.map((e) => e.feeds),
          rows,
          this.#buffers,
          this.#config.maxBatchSize,
        );
    this.#executor.run(feeds, (batch[0] as Entry).outputs).then(
      (out) => {
        if (!single) releaseFeeds(feeds, this.#buffers);
        if (timed || tuner) {
          const ms = now() - started;
          if (timed) this.#observer.executed?.(ms / 1000, true);
          tuner?.observe(rows, ms);
        }
        this.#finish();
        if (single) return this.#deliver(single, out);
        if (!outputsSplittable(out, rows)) return this.#stopBatching(batch);
        let offset = 0;
        for (const e of batch) {
          const part: Outputs = {};
          for (const name in out) part[name] = sliceRows(out[name] as TensorLike, offset, e.rows);
          offset += e.rows;
          this.#deliver(e, part);
        }
      },
      (error: unknown) => {
        if (!single) releaseFeeds(feeds, this.#buffers);
        if (timed) this.#observer.executed?.((now() - started) / 1000, false);
        this.#finish();
        for (const e of batch) this.#fail(e.request, error);
      },
    );
  }

  #finish(): void {
    this.#running--;
    this.#schedule();
    this.#notifyIdle();
  }

  #deliver(entry: Entry, out: Outputs): void {
    const request = entry.request;
    if (request.settled) return;
    if (!request.parts) return this.#succeed(request, out);
    const joined = joinPart(entry, out);
    if (joined) this.#succeed(request, joined);
  }

  /** The model changed the batch dimension of an output: run these (and all later) requests one by one. */
  #stopBatching(batch: Entry[]): void {
    this.#batching = false;
    this.#observer.unbatchable?.(
      'A batched run returned outputs whose first dimension is not the batch size, so requests are no longer batched for this model. Set batching: false to silence this.',
    );
    for (const e of batch) {
      if (e.request.parts)
        this.#fail(
          e.request,
          new ModelshipError('INFERENCE_FAILED', 'The model cannot be run in parts; send at most maxBatchSize rows.'),
        );
    }
    const retry = batch
      .filter((e) => !e.request.settled)
      .map((e) => {
        const alone: Entry = { ...e, key: undefined };
        e.request.entries = [alone];
        return alone;
      });
    this.#queue.unshift(retry);
    this.#schedule();
  }

  /** Resolves once nothing is queued or running. */
  drain(): Promise<void> {
    if (this.#queue.size === 0 && this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #notifyIdle(): void {
    if (this.#idle.length === 0 || this.#queue.size > 0 || this.#running > 0) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}
