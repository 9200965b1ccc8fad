import type { BackendSession, BatchExecutionStats, RunOptions } from '../../spec/backend.js';
import type { TensorLike } from '../../spec/tensor.js';

/**
 * Concurrent runs of a very small model on the calling thread, when that is measured to answer more rows per
 * second than the workers.
 *
 * A worker's round trip costs two thread wake-ups (about 0.1–0.2 ms each on this 2-core VM) whatever the run
 * does. For a model whose batch of 64 rows runs in 20 µs, the workers spend most of each round trip waiting
 * for a thread to wake, and 64 callers got 4.1× raw onnxruntime's calls per second through them. The same
 * batches run on one session on the calling thread need no wake-up at all (measured here: 8.2× raw). For a
 * model whose batches take a few hundred microseconds, the workers' second core wins instead (the MNIST MLP
 * with 64 callers: 85k rows/s on the calling thread against 96k through the workers), and with 8 callers the
 * calling thread won again (36k against 25k). Which one wins depends on the model and on the load, so it is
 * measured on the load itself:
 *
 * once {@link BUSY_RUNS_BEFORE_TRIAL} overlapping runs have been seen, a one-thread session is opened on the
 * calling thread, and the runs that follow go through the workers and through that session in alternate
 * phases of {@link PHASE_MS}, {@link TRIAL_PAIRS} of each. The rows answered per second are compared phase by
 * phase; the calling thread keeps the runs only when it answered at least {@link INLINE_GAIN}× the rows in
 * most pairs, and when a run would hold it no longer than {@link INLINE_BATCH_MAX_MS}. When the load changes (the
 * average rows per run halves or doubles), runs go back to the workers and a new trial follows.
 *
 * Lone calls are inline-runner.ts's business: this is only for runs that overlap others.
 */

/** Overlapping runs seen (with no pause of a second) before a trial starts. */
export const BUSY_RUNS_BEFORE_TRIAL = 256;
/**
 * How long overlapping runs must have gone on before a trial (ms): both ways of running are still warming up
 * at first (the workers' rows per second rose by a quarter over the first second of a 64-caller MNIST load),
 * and the trial would favour whichever ran last.
 */
export const SUSTAINED_MS = 1000;
/** Length of one trial phase (ms). */
export const PHASE_MS = 100;
/** Start of each phase not counted (ms): runs of the other mode may still be finishing. */
const SETTLE_MS = 10;
/** Phases of each mode in a trial. */
export const TRIAL_PAIRS = 3;
/**
 * Which phases run on the calling thread: workers, here, here, workers, workers, here. Each pair compared is
 * adjacent, and the order flips from pair to pair, so a load that is still speeding up (or slowing down)
 * favours neither.
 */
const ON_THIS_THREAD = [false, true, true, false, false, true];
/** The phases compared: (workers, calling thread). */
const PAIRS: readonly (readonly [number, number])[] = [
  [0, 1],
  [3, 2],
  [4, 5],
];
/** What the calling thread must answer, relative to the workers, to keep the runs (rows per second). */
export const INLINE_GAIN = 1.1;
/** A pause between overlapping runs this long starts the count before a trial again (ms). */
const PAUSE_MS = 1000;
/** The least time between the end of one trial and the start of the next (ms). */
const RETRIAL_MIN_MS = 10_000;
/** The longest run the calling thread may take (ms): beyond it, runs go back to the workers. */
export const INLINE_BATCH_MAX_MS = 2.5;

type Feeds = Readonly<Record<string, TensorLike>>;
type Outputs = Record<string, TensorLike>;
type OnWorkers = (feeds: Feeds, options: RunOptions) => Promise<Outputs>;
type OpenSession = () => Promise<BackendSession>;

interface Trial {
  readonly startedAt: number;
  /** Rows answered in each phase (even phases: workers; odd: the calling thread). */
  readonly rows: number[];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const round1 = (x: number): number => Math.round(x * 10) / 10;

const rowsOf = (feeds: Feeds): number => {
  for (const name in feeds) return (feeds[name] as TensorLike).shape[0] ?? 1;
  return 1;
};

/** One pool's choice for overlapping runs: the workers, or one session on the calling thread. */
export class InlineBatches {
  readonly #othersBusy: () => boolean;
  #open: OpenSession | undefined;
  #state: 'off' | 'watching' | 'opening' | 'trial' | 'inline' | 'workers' = 'off';
  #session: BackendSession | undefined;
  #trial: Trial | undefined;
  #seen = 0;
  #lastSeen = -Infinity;
  /** When the current stretch of overlapping runs began. */
  #since = 0;
  /** Average rows per overlapping run (exponential, over about 64 runs). */
  #rowsAverage = 0;
  /** The average when the choice was made. */
  #decidedRows = 0;
  #running = 0;
  /** Sessions let go while runs were still queued on them, released once those settle. */
  readonly #retired: BackendSession[] = [];
  readonly #onIdle: (() => void)[] = [];
  #decidedAt = -Infinity;
  #trials = 0;
  #inlineRuns = 0;
  #stats: BatchExecutionStats = { inline: false, reason: 'Not measured: no overlapping runs seen yet.' };

  /** `othersBusy` tells whether other models' work runs now (a trial is not counted then). */
  constructor(othersBusy: () => boolean) {
    this.#othersBusy = othersBusy;
  }

  /** Runs on the calling thread in progress. */
  get running(): number {
    return this.#running;
  }

  stats(): BatchExecutionStats {
    return this.#state === 'inline' ? { ...this.#stats, inlineRuns: this.#inlineRuns } : this.#stats;
  }

  /** The model qualifies (see InlineExecution.prepare); `open` opens its one-thread session. */
  prepare(open: OpenSession): void {
    if (this.#state !== 'off') return;
    this.#open = open;
    this.#state = 'watching';
    this.#stats = {
      inline: false,
      reason: `Not measured yet: measured after ${BUSY_RUNS_BEFORE_TRIAL} overlapping runs.`,
    };
  }

  /** The model does not qualify, or is released: every run goes to the workers. */
  async disable(reason: string): Promise<void> {
    const session = this.#session;
    this.#state = 'off';
    this.#open = undefined;
    this.#session = undefined;
    this.#trial = undefined;
    this.#stats = { inline: false, reason };
    if (session) await this.#retire(session);
  }

  /** A run that overlaps others: on the workers (`onWorkers`) or on the calling thread, as chosen or measured. */
  run(feeds: Feeds, options: RunOptions, onWorkers: OnWorkers): Promise<Outputs> {
    const state = this.#state;
    if (state === 'off') return onWorkers(feeds, options);
    const rows = rowsOf(feeds);
    const now = performance.now();
    this.#rowsAverage = this.#rowsAverage === 0 ? rows : this.#rowsAverage + (rows - this.#rowsAverage) / 64;
    if (state === 'inline' || state === 'workers') {
      if (this.#rowsAverage > 2 * this.#decidedRows || this.#rowsAverage < this.#decidedRows / 2)
        this.#watchAgain(
          `The load changed (${round1(this.#rowsAverage)} rows a run, against ${round1(this.#decidedRows)} when measured): overlapping runs go to the workers until measured again.`,
        );
      else if (state === 'workers') return onWorkers(feeds, options);
      else return this.#inline(feeds, options);
    }
    if (this.#state === 'watching') {
      if (now - this.#lastSeen > PAUSE_MS) {
        this.#seen = 0;
        this.#since = now;
      }
      this.#lastSeen = now;
      if (
        ++this.#seen >= BUSY_RUNS_BEFORE_TRIAL &&
        now - this.#since >= SUSTAINED_MS &&
        now - this.#decidedAt >= RETRIAL_MIN_MS
      )
        void this.#startTrial();
      return onWorkers(feeds, options);
    }
    if (this.#state !== 'trial') return onWorkers(feeds, options); // opening
    return this.#trialRun(this.#trial as Trial, feeds, options, rows, now, onWorkers);
  }

  #watchAgain(reason: string): void {
    this.#stats = { inline: false, trials: this.#trials, reason };
    const session = this.#session;
    this.#session = undefined;
    this.#seen = 0;
    this.#since = performance.now();
    this.#state = 'watching';
    if (session) void this.#retire(session);
  }

  async #startTrial(): Promise<void> {
    const open = this.#open;
    if (!open) return;
    this.#state = 'opening';
    let session: BackendSession;
    try {
      session = await open();
    } catch {
      if (this.#state === 'opening') {
        this.#state = 'workers';
        this.#decidedRows = this.#rowsAverage;
        this.#decidedAt = performance.now();
        this.#stats = {
          inline: false,
          reason: 'A session could not be opened on the calling thread: overlapping runs stay on the workers.',
        };
      }
      return;
    }
    if (this.#state !== 'opening') {
      await session.release().catch(() => undefined);
      return;
    }
    this.#session = session;
    this.#trial = { startedAt: performance.now(), rows: [] };
    this.#state = 'trial';
    this.#trials++;
    this.#stats = {
      inline: false,
      reason: `Being measured: overlapping runs alternate between the workers and the calling thread, ${TRIAL_PAIRS} phases of ${PHASE_MS} ms each.`,
    };
  }

  #trialRun(
    trial: Trial,
    feeds: Feeds,
    options: RunOptions,
    rows: number,
    now: number,
    onWorkers: OnWorkers,
  ): Promise<Outputs> {
    const phase = Math.floor((now - trial.startedAt) / PHASE_MS);
    if (phase >= ON_THIS_THREAD.length) {
      this.#decide(trial, now);
      return this.run(feeds, options, onWorkers);
    }
    // Other models' work would be counted against whichever mode ran beside it: the trial starts over.
    if (this.#othersBusy()) {
      this.#trial = { startedAt: now, rows: [] };
      return onWorkers(feeds, options);
    }
    const answer = ON_THIS_THREAD[phase] ? this.#inline(feeds, options) : onWorkers(feeds, options);
    return answer.then((out) => {
      // Rows answered per second of the phase: answered after it settled and before it ended, by a run it sent.
      const into = performance.now() - trial.startedAt - phase * PHASE_MS;
      if (this.#trial === trial && into >= SETTLE_MS && into < PHASE_MS)
        trial.rows[phase] = (trial.rows[phase] ?? 0) + rows;
      return out;
    });
  }

  async #inline(feeds: Feeds, options: RunOptions): Promise<Outputs> {
    const session = this.#session as BackendSession;
    this.#running++;
    this.#inlineRuns++;
    try {
      return await session.run(feeds, options);
    } finally {
      this.#running--;
      if (this.#running === 0 && this.#retired.length > 0) void this.#releaseRetired();
    }
  }

  #decide(trial: Trial, now: number): void {
    const perSecond = (rows: number | undefined): number => ((rows ?? 0) * 1000) / (PHASE_MS - SETTLE_MS);
    const workers = PAIRS.map(([w]) => perSecond(trial.rows[w]));
    const inline = PAIRS.map(([, i]) => perSecond(trial.rows[i]));
    // Nothing answered at all: the load paused. Measure again from now.
    if ([...workers, ...inline].every((r) => r === 0)) {
      this.#trial = { startedAt: now, rows: [] };
      return;
    }
    this.#trial = undefined;
    this.#decidedAt = now;
    this.#decidedRows = this.#rowsAverage;
    const workerRowsPerSecond = Math.round(median(workers));
    const inlineRowsPerSecond = Math.round(median(inline));
    // How long a run holds the calling thread: its rows at the rate the calling thread answered them. (A run's
    // time from call to answer would also count the runs queued ahead of it.)
    const holdMs = inlineRowsPerSecond > 0 ? (this.#decidedRows * 1000) / inlineRowsPerSecond : Infinity;
    const wins = inline.filter((r, i) => r >= INLINE_GAIN * (workers[i] as number)).length;
    const figures = `${inlineRowsPerSecond} rows/s on the calling thread against ${workerRowsPerSecond} through the workers (medians of ${TRIAL_PAIRS} phases each, ${round1(this.#decidedRows)} rows a run)`;
    const measured = { inlineRowsPerSecond, workerRowsPerSecond, rowsPerRun: this.#decidedRows, trials: this.#trials };
    if (holdMs <= INLINE_BATCH_MAX_MS && wins * 2 > TRIAL_PAIRS) {
      this.#state = 'inline';
      this.#stats = { inline: true, ...measured, reason: `Overlapping runs run on the calling thread: ${figures}.` };
      return;
    }
    const why =
      holdMs > INLINE_BATCH_MAX_MS
        ? `a run would hold the calling thread ${holdMs.toFixed(2)} ms, over the ${INLINE_BATCH_MAX_MS} ms the event loop may be blocked`
        : `the calling thread needs ${INLINE_GAIN}× to be worth it`;
    this.#state = 'workers';
    this.#stats = { inline: false, ...measured, reason: `Overlapping runs stay on the workers: ${figures}; ${why}.` };
    const session = this.#session;
    this.#session = undefined;
    if (session) void this.#retire(session);
  }

  /** Releases `session` once no run uses it (runs queued on it would fail on a released session). */
  #retire(session: BackendSession): Promise<void> {
    this.#retired.push(session);
    return this.#running === 0 ? this.#releaseRetired() : new Promise((resolve) => this.#onIdle.push(resolve));
  }

  async #releaseRetired(): Promise<void> {
    const sessions = this.#retired.splice(0);
    const waiting = this.#onIdle.splice(0);
    for (const session of sessions) await session.release().catch(() => undefined);
    for (const resolve of waiting) resolve();
  }
}
