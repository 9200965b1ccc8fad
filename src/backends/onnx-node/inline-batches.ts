import type { BackendSession, BatchExecutionStats, RunOptions } from '../../spec/backend.js';
import type { TensorLike } from '../../spec/tensor.js';

/**
 * Concurrent runs of a small model on the calling thread, when that is measured to answer more rows per second
 * than the workers.
 *
 * A worker's round trip costs two thread wake-ups (about 0.1–0.2 ms each on this 2-core VM) whatever the run
 * does. For a model whose batch of 64 rows runs in 20 µs, the workers spend most of each round trip waiting
 * for a thread to wake, and 64 callers got about 4× raw onnxruntime's calls per second through them; the same
 * batches on a session on the calling thread need no wake-up at all (8–9× raw). The MNIST MLP's 32-row batches
 * ran in 102 µs there on two onnxruntime threads (166 µs on one), and 64 callers got 171k rows/s against about
 * 100k through the workers. For a model whose runs take milliseconds (a 1 ms-a-row CNN), the workers' two
 * cores win, and a run would block the event loop too long anyway. Which one wins depends on the model, the
 * load and the machine, so it is measured on the load itself:
 *
 * once overlapping runs have gone on for {@link SUSTAINED_MS} (and {@link BUSY_RUNS_BEFORE_TRIAL} of them), a
 * session with onnxruntime's default threads (one per core: the workers are idle while it runs) is opened on
 * the calling thread, and the runs that follow go through the workers and through that session in phases of
 * {@link PHASE_MS}, {@link TRIAL_PAIRS} of each. The rows answered per second are compared phase by phase; the
 * runs move to the calling thread when it answered at least {@link INLINE_GAIN}× the rows in every pair of two
 * trials in a row (the second {@link RetrialTiming.secondTrialMs} after the first), and when
 * a run would hold it no longer than {@link INLINE_BATCH_MAX_MS}; a pair it lost ends the trial at once, and a
 * first trial lost is measured again {@link RetrialTiming.secondTrialMs} later as well. The
 * choice is measured again when the load changes (the average rows per run halves or doubles) and every 30 s
 * under load, since the machine may have changed (a co-tenant starting would slow the multi-thread session);
 * only every {@link SLOW_RETRIAL_FACTOR}× as long when runs of the current size would hold the calling thread
 * too long at the rate last measured. While other models' workers run or start,
 * runs go to the workers: a multi-thread session's run waits for all of its threads.
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
/**
 * Which phases run on the calling thread: a first one not counted (the session's first runs, and the code that
 * sends runs there, are still cold: a tiny MLP's first phase there answered half the rows of its later ones),
 * then workers, here, here, workers, workers, here. Each pair compared is adjacent, and the order flips from
 * pair to pair, so a load that is still speeding up (or slowing down) favours neither.
 */
const ON_THIS_THREAD = [true, false, true, true, false, false, true];
/** Trials started over (a phase of the workers answered nothing) before the runs are left on the workers. */
const MAX_RESTARTS = 3;
/** The phases compared: (workers, calling thread). */
const PAIRS: readonly (readonly [number, number])[] = [
  [1, 2],
  [4, 3],
  [5, 6],
];
/** Phases of each mode compared in a trial. */
export const TRIAL_PAIRS = PAIRS.length;
/** What the calling thread must answer, relative to the workers, to keep the runs (rows per second). */
export const INLINE_GAIN = 1.1;
/** A pause between overlapping runs this long starts the count before a trial again (ms). */
const PAUSE_MS = 1000;

/** When a choice is measured again under a continuing load. */
export interface RetrialTiming {
  /** The least time between two trials, when the load changed (ms). */
  readonly retrialMinMs: number;
  /** A trial this long after the last one even if the load looks the same: the machine may have changed (ms). */
  readonly retrialEveryMs: number;
  /**
   * After a trial the calling thread won, the confirming trial this long after it (ms). A trial alone may fall
   * in a process's first seconds under load, when both ways are still warming up (JIT, onnxruntime's first
   * runs): a modelship HTTP server measured 9.2k rows/s on the calling thread against 6.9k through the workers
   * then, and later served 11–13k requests/s through the workers against 8.5–8.9k on the calling thread.
   */
  readonly secondTrialMs: number;
}

export const RETRIAL_TIMING: RetrialTiming = { retrialMinMs: 10_000, retrialEveryMs: 30_000, secondTrialMs: 5_000 };
/** The longest run the calling thread may take (ms): beyond it, runs go back to the workers. */
export const INLINE_BATCH_MAX_MS = 2.5;
/**
 * When the last trial's rate says runs of the current size would hold the calling thread over
 * {@link INLINE_BATCH_MAX_MS}, the next trial waits this many times {@link RetrialTiming.retrialEveryMs}.
 */
export const SLOW_RETRIAL_FACTOR = 10;

type Feeds = Readonly<Record<string, TensorLike>>;
type Outputs = Record<string, TensorLike>;
type OnWorkers = (feeds: Feeds, options: RunOptions) => Promise<Outputs>;
type OpenSession = () => Promise<BackendSession>;

interface Trial {
  readonly startedAt: number;
  /** Rows answered in each phase (see ON_THIS_THREAD for which ran where). */
  readonly rows: number[];
  /** Times this trial started over because a phase of the workers answered nothing. */
  restarts: number;
}

/** The middle value of `xs` (the upper one of the two for an even count). */
export const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const round1 = (x: number): number => Math.round(x * 10) / 10;

/**
 * How the calling thread did in one pair of phases: `'won'` when it answered at least {@link INLINE_GAIN}× the
 * workers' rows, `'lost'` when it did not, `'empty'` when the workers' phase answered nothing (no comparison).
 */
function pairResult(rows: readonly number[], [w, i]: readonly [number, number]): 'won' | 'lost' | 'empty' {
  const workers = rows[w] ?? 0;
  if (workers === 0) return 'empty';
  return (rows[i] ?? 0) >= INLINE_GAIN * workers ? 'won' : 'lost';
}

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
  /** Whether the calling thread won the last trial (runs move there when two in a row say so). */
  #lastWon = false;
  /** Rows per second the calling thread answered in the last trial (what a run there is expected to take). */
  #inlineRate = Infinity;
  /** onnxruntime threads of the session (from `prepare`). */
  #threads = 1;
  readonly #timing: RetrialTiming;
  /** Sessions let go while runs were still queued on them, released once those settle. */
  readonly #retired: BackendSession[] = [];
  readonly #onIdle: (() => void)[] = [];
  #decidedAt = -Infinity;
  #trials = 0;
  #inlineRuns = 0;
  #stats: BatchExecutionStats = { inline: false, reason: 'Not measured: no overlapping runs seen yet.' };

  /** `othersBusy` tells whether other models' work runs now (a trial is not counted then). */
  constructor(othersBusy: () => boolean, timing: RetrialTiming = RETRIAL_TIMING) {
    this.#othersBusy = othersBusy;
    this.#timing = timing;
  }

  /** Runs on the calling thread in progress. */
  get running(): number {
    return this.#running;
  }

  stats(): BatchExecutionStats {
    return this.#state === 'inline' ? { ...this.#stats, inlineRuns: this.#inlineRuns } : this.#stats;
  }

  /** The model qualifies (see InlineExecution.prepare); `open` opens its session, with `threads` onnxruntime threads. */
  prepare(open: OpenSession, threads: number): void {
    if (this.#state !== 'off') return;
    this.#open = open;
    this.#threads = threads;
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
    // The current stretch of overlapping runs: the first trial starts only once it has gone on for SUSTAINED_MS.
    if (now - this.#lastSeen > PAUSE_MS) {
      this.#seen = 0;
      this.#since = now;
    }
    this.#lastSeen = now;
    const sustained = now - this.#since >= SUSTAINED_MS;
    this.#rowsAverage = this.#rowsAverage === 0 ? rows : this.#rowsAverage + (rows - this.#rowsAverage) / 64;
    if (state === 'inline' || state === 'workers') {
      const since = now - this.#decidedAt;
      const changed = this.#rowsAverage > 2 * this.#decidedRows || this.#rowsAverage < this.#decidedRows / 2;
      // Runs of today's size would hold the calling thread too long at the rate it answered: a trial would only
      // block the event loop for nothing (unless the machine got much faster meanwhile), so it waits long.
      // Otherwise a trial the calling thread won is confirmed soon, and so is the first trial it lost: both may
      // fall in the process's first seconds under load (the MNIST MLP's first trial, a second into a 64-caller
      // load, measured 79k rows/s on the calling thread against 75k through the workers, and lost; once warm,
      // the calling thread answered 150k against 115k). Then the choice stands for a while.
      const tooSlow = state === 'workers' && (this.#rowsAverage * 1000) / this.#inlineRate > INLINE_BATCH_MAX_MS;
      const every = tooSlow
        ? this.#timing.retrialEveryMs * SLOW_RETRIAL_FACTOR
        : state === 'workers' && (this.#lastWon || this.#trials === 1)
          ? this.#timing.secondTrialMs
          : this.#timing.retrialEveryMs;
      // Unlike the first, later trials need no long stretch of load: that was seen once, and an app whose load
      // comes in bursts of a second or two would otherwise never be measured again.
      if (this.#open && (since >= every || (changed && !tooSlow && since >= this.#timing.retrialMinMs))) {
        void this.#startTrial(
          changed
            ? `the load changed: ${round1(this.#rowsAverage)} rows a run, against ${round1(this.#decidedRows)} when last measured`
            : `measured ${every / 1000} s after the last time, under load`,
        );
        return this.run(feeds, options, onWorkers);
      }
      if (state === 'workers') return onWorkers(feeds, options);
      // Not here: a run this big would hold the calling thread too long at the rate measured, or other models'
      // busy workers may hold up one of a multi-thread session's threads (its runs wait for all of them).
      if ((rows * 1000) / this.#inlineRate > INLINE_BATCH_MAX_MS || (this.#threads > 1 && this.#othersBusy()))
        return onWorkers(feeds, options);
      return this.#inline(feeds, options);
    }
    if (this.#state === 'watching') {
      if (++this.#seen >= BUSY_RUNS_BEFORE_TRIAL && sustained) void this.#startTrial();
      return onWorkers(feeds, options);
    }
    if (this.#state !== 'trial') return onWorkers(feeds, options); // opening
    return this.#trialRun(this.#trial as Trial, feeds, options, rows, now, onWorkers);
  }

  /** Opens the session (unless it is open) and starts a trial; `again` says why one is measured again. */
  async #startTrial(again?: string): Promise<void> {
    const open = this.#open;
    if (!open) return;
    let session = this.#session;
    if (!session) {
      this.#state = 'opening';
      try {
        session = await open();
      } catch {
        if (this.#state === 'opening') {
          this.#state = 'workers';
          this.#open = undefined;
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
    }
    this.#trial = { startedAt: performance.now(), rows: [], restarts: 0 };
    this.#state = 'trial';
    this.#trials++;
    this.#stats = {
      inline: false,
      trials: this.#trials,
      reason: `Being measured${again ? ` again (${again})` : ''}: overlapping runs alternate between the workers and the calling thread, ${ON_THIS_THREAD.length} phases of ${PHASE_MS} ms.`,
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
    // Pairs whose phases are over (their counts are final). The calling thread must win every pair, so a pair
    // it lost decides the trial at once: a model too slow for it (a CNN whose 4-row runs held the event loop
    // 3.75 ms) spends half as long there.
    const over = PAIRS.filter(([w, i]) => Math.max(w, i) < phase).length;
    if (phase >= ON_THIS_THREAD.length || PAIRS.slice(0, over).some((p) => pairResult(trial.rows, p) === 'lost')) {
      this.#decide(trial, now, over);
      return this.run(feeds, options, onWorkers);
    }
    // Other models' work would be counted against whichever mode ran beside it: the trial starts over.
    if (this.#othersBusy()) {
      this.#trial = { startedAt: now, rows: [], restarts: trial.restarts };
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

  /** Decides on the first `pairs` pairs of phases (all of them, unless one was lost before the others ran). */
  #decide(trial: Trial, now: number, pairs = TRIAL_PAIRS): void {
    const perSecond = (rows: number | undefined): number => ((rows ?? 0) * 1000) / (PHASE_MS - SETTLE_MS);
    const compared = PAIRS.slice(0, pairs);
    const workers = compared.map(([w]) => perSecond(trial.rows[w]));
    const inline = compared.map(([, i]) => perSecond(trial.rows[i]));
    // A phase of the workers answered nothing (the load paused, or came in bursts shorter than a phase): nothing
    // to compare with. Measure again from now, a few times, then leave the runs on the workers. (A phase of the
    // calling thread that answered nothing while the workers did is a result: it is too slow.)
    if (workers.some((r) => r === 0) && ++trial.restarts <= MAX_RESTARTS) {
      this.#trial = { startedAt: now, rows: [], restarts: trial.restarts };
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
    // Every pair: keeping runs off the event loop is the safer side of a close call.
    const wins = compared.filter((p) => pairResult(trial.rows, p) === 'won').length;
    const phases = pairs === 1 ? '1 phase each' : `medians of ${pairs} phases each`;
    const figures = `${inlineRowsPerSecond} rows/s on the calling thread against ${workerRowsPerSecond} through the workers (${phases}, ${round1(this.#decidedRows)} rows a run)`;
    const measured = { inlineRowsPerSecond, workerRowsPerSecond, rowsPerRun: this.#decidedRows, trials: this.#trials };
    const wonHere = holdMs <= INLINE_BATCH_MAX_MS && wins === TRIAL_PAIRS;
    // Two trials in a row must agree before runs move to the calling thread: one alone may fall in the
    // process's first seconds under load, when both ways are still warming up.
    const confirmed = wonHere && this.#lastWon;
    this.#lastWon = wonHere;
    this.#inlineRate = inlineRowsPerSecond;
    if (confirmed) {
      this.#state = 'inline';
      this.#stats = { inline: true, ...measured, reason: `Overlapping runs run on the calling thread: ${figures}.` };
      return;
    }
    const why = wonHere
      ? `measured again in ${this.#timing.secondTrialMs / 1000} s to confirm before runs move there`
      : inlineRowsPerSecond === 0
        ? `no run on the calling thread finished within a phase`
        : holdMs > INLINE_BATCH_MAX_MS
          ? `a run would hold the calling thread ${holdMs.toFixed(2)} ms, over the ${INLINE_BATCH_MAX_MS} ms the event loop may be blocked`
          : `the calling thread needs ${INLINE_GAIN}× in every pair to be worth it`;
    this.#state = 'workers';
    this.#stats = {
      inline: false,
      ...measured,
      reason: `Overlapping runs stay on the workers${wonHere ? ' for now' : ''}: ${figures}; ${why}.`,
    };
    // Kept open when a confirming trial follows soon.
    if (wonHere) return;
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
