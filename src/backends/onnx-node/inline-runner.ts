import { stat } from 'node:fs/promises';
import { usableCores } from '../../platform/node/cores.js';
import type {
  BackendSession,
  BackendSessionOptions,
  ExecutionStats,
  ModelSource,
  RunOptions,
} from '../../spec/backend.js';
import type { TensorLike } from '../../spec/tensor.js';
import { InlineBatches, median } from './inline-batches.js';
import { loadOnnxRuntime } from './load-runtime.js';
import { sessionOnThisThread } from './this-thread-session.js';

/**
 * Lone calls of a small model on the calling thread.
 *
 * Handing a run to a worker thread and back costs tens to hundreds of microseconds (two thread wake-ups: on
 * this 2-core VM about 0.13 ms to wake the worker and 0.2 ms to wake the event loop again), and the worker's
 * session has only its share of the cores (one intra-op thread each on two cores). For a model whose run is
 * short, a lone call is answered sooner by one more session on the calling thread, exactly as calling
 * onnxruntime directly would: a 784→512 MLP ran in 34 µs there against 98 µs on one worker thread, and a
 * small OCR CNN in 1.5 ms against 2.1 ms through a worker. The calling thread is blocked for the run, as it
 * is when onnxruntime is called directly, so only models measured at or below {@link INLINE_MAX_MS} qualify,
 * and only lone calls take that path; anything concurrent goes to the workers, where batching and the cores
 * pay off.
 *
 * Nothing happens at load time: onnxruntime-node opens a session synchronously (about 10–20 ms for a 1.6 MB
 * model here), and a load must not stall the models already serving. A model is measured only once it has
 * been called alone {@link LONE_CALLS_BEFORE_PROBE} times in a row without overlap, which is when the pattern
 * that benefits is there. Two sessions are then opened, with onnxruntime's default threads (an MLP's matrix
 * products split across the cores) and with one thread (a small CNN ran 1.48 ms on one against 1.78 ms on
 * two: its operators are too short to share), and the next lone calls are answered in turns by each session
 * and by a worker, {@link PROBE_RUNS} each, and timed. The fastest calling-thread session is kept if it beats
 * the worker. The choice and the figures are in `model.stats().execution`.
 */

/**
 * The longest inline run allowed: what the event loop may be blocked for by one lone call, about one young
 * generation collection. Beyond it the round trip to a worker is a small share of the run anyway.
 */
export const INLINE_MAX_MS = 2.5;
/** Models bigger than this never get the extra session (it holds its own copy of the weights, opened in one go). */
export const INLINE_MAX_BYTES = 16 * 2 ** 20;
/** Lone calls seen before the model is measured. */
export const LONE_CALLS_BEFORE_PROBE = 32;
/** Lone calls timed on each candidate (each calling-thread session, and a worker). */
export const PROBE_RUNS = 24;
/**
 * Candidates take turns in blocks of this many calls, the first {@link BLOCK_WARMUP} of each not counted.
 * Strict turns (one call each) timed every multi-thread run cold: onnxruntime's pool threads spin for a moment
 * after a run and then sleep, so a session called back to back answers sooner than one called after two
 * others. Turn by turn, the MNIST MLP's two-thread session measured slower than its one-thread session (0.16
 * against 0.10 ms) and was dropped, although back to back it ran in 30-45 µs against 90-105. Blocks of 9 with
 * one call not counted still left the next calls warming up (each session holds its own copy of the weights,
 * and the three copies of a 1.6 MB model do not fit one core's cache): the two-thread session's median ranged
 * 0.040–0.066 ms over runs, and in two full bench runs of three it lost to the one-thread one (0.06 ms), at
 * twice its steady latency. Half a block of warm-up: 0.038–0.042 ms.
 */
const BLOCK = 16;
const BLOCK_WARMUP = 8;

type Feeds = Readonly<Record<string, TensorLike>>;

/** A calling-thread session being measured. */
interface Candidate {
  readonly session: BackendSession;
  readonly threads: number;
}

/** The measurement on lone calls: per candidate (the sessions, then the worker), the times of the calls it answered. */
interface Trial {
  readonly candidates: readonly Candidate[];
  readonly samples: number[][];
  next: number;
}

/**
 * Inference work in this process, across models: while another model's workers run or start, a lone call
 * runs inline only on a one-thread session. A session with onnxruntime's default threads waits for all of
 * them in every run, and beside another model's busy workers one descheduled thread stretches a 40 µs run
 * to a scheduler tick (measured: 4.5 ms at p99 while other models loaded, against 0.2 ms alone). A model
 * whose fastest inline session has several threads keeps its one-thread session too, for those times, when
 * that one also beats a worker; otherwise such calls go to the workers, one thread each, which do not wait
 * on each other.
 */
const pools = new Set<() => boolean>();
let starting = 0;

/** Registers a pool's "running something now" test; returns the function that unregisters it. */
export function trackPool(busy: () => boolean): () => void {
  pools.add(busy);
  return () => pools.delete(busy);
}

/**
 * Pools open in this process (loaded models on workers). A pool loading or releasing beside others moves one
 * thread at a time (see worker-pool.ts).
 */
export function openPools(): number {
  return pools.size;
}

/** Counts `work` (workers starting, a model loading) as running while it is pending. */
export async function whileStarting<T>(work: Promise<T>): Promise<T> {
  starting++;
  try {
    return await work;
  } finally {
    starting--;
    lastSeenBusy = performance.now();
  }
}

/**
 * How long other models count as busy after they were last seen so: a model loads in steps (the file read and
 * hashed here, sessions opened and warmed up there, another model released), and between two steps nothing
 * runs for a moment; a lone call taking the multi-thread session then meets the next step mid-run.
 */
const BUSY_HOLD_MS = 50;
let lastSeenBusy = -Infinity;

function othersBusy(self: () => boolean): boolean {
  let busy = starting > 0;
  if (!busy) for (const running of pools) if (running !== self && running()) busy = true;
  const now = performance.now();
  if (busy) lastSeenBusy = now;
  return busy || now - lastSeenBusy < BUSY_HOLD_MS;
}

async function sourceBytes(source: ModelSource): Promise<number> {
  if ('bytes' in source) return source.bytes.byteLength;
  return source.size ?? (await stat(source.path)).size;
}

/** One pool's inline state: not eligible, waiting for lone calls, being measured, or running lone calls. */
export class InlineExecution {
  readonly #source: ModelSource;
  readonly #options: BackendSessionOptions;
  #state: 'off' | 'candidate' | 'probing' | 'measuring' | 'on' = 'off';
  /** While measuring: the sessions tried, and the time of each lone call answered by each candidate. */
  #trial: Trial | undefined;
  /** Overlapping calls seen so far: a timed call during which one came is not counted. */
  #overlaps = 0;
  #stats: ExecutionStats = { inline: false, reason: 'Not measured: the model has not been warmed up.' };
  #feeds: Feeds | undefined;
  #session: BackendSession | undefined;
  /**
   * The one-thread session, for lone calls while other models' workers run or start: it has no pool thread
   * to wait for, so a busy machine slows it only as much as the calling thread itself.
   */
  #solo: BackendSession | undefined;
  #lone = 0;
  #busy = false;
  #calls = 0;
  #closed = false;

  readonly #self: () => boolean;
  /** Runs that overlap others: on the workers, or on the calling thread when measured faster (inline-batches.ts). */
  readonly batches: InlineBatches;

  /** `self` tells whether the pool itself runs something now (its own runs are not contention). */
  constructor(source: ModelSource, options: BackendSessionOptions, self: () => boolean) {
    this.#source = source;
    this.#options = options;
    this.#self = self;
    this.batches = new InlineBatches(() => othersBusy(self));
  }

  /** True when a lone call may be answered here (now, or once measured). */
  get active(): boolean {
    return this.#state === 'candidate' || this.#state === 'measuring' || this.#state === 'on';
  }

  /** True while a run is in progress here. */
  get busy(): boolean {
    return this.#busy;
  }

  stats(): ExecutionStats {
    const lone = this.#state === 'on' ? { ...this.#stats, inlineCalls: this.#calls } : this.#stats;
    return { ...lone, batches: this.batches.stats() };
  }

  /** After warm-up: whether the model could qualify at all (cheap checks only; nothing is opened). */
  async prepare(feeds: readonly Feeds[]): Promise<void> {
    if (this.#state !== 'off' || this.#closed) return;
    const first = feeds[0];
    const bytes = await sourceBytes(this.#source).catch(() => Infinity);
    const why =
      this.#options.inline === false
        ? 'inline: false was set.'
        : this.#options.executionProviders?.some((p) => p !== 'cpu')
          ? 'An accelerator runs the model; calls stay on the workers.'
          : first === undefined
            ? 'No warm-up inputs to measure with; calls stay on the workers.'
            : bytes > INLINE_MAX_BYTES
              ? `The model is over ${INLINE_MAX_BYTES / 2 ** 20} MiB: calls stay on the workers.`
              : undefined;
    if (why !== undefined || this.#closed) {
      this.#stats = { inline: false, reason: why ?? 'The session was released.' };
      await this.batches.disable(this.#stats.reason);
      return;
    }
    this.#feeds = first;
    const threads = usableCores();
    this.batches.prepare(() => this.#openOnThisThread(first as Feeds, threads), threads);
    this.#state = 'candidate';
    this.#stats = {
      inline: false,
      reason: `Not measured yet: measured after ${LONE_CALLS_BEFORE_PROBE} lone calls in a row.`,
    };
  }

  /**
   * A call that would run alone: runs it here when the model qualified, or while the model is being measured
   * (on the candidate whose turn it is); otherwise counts it, and opens the sessions to measure (in the
   * background; calls meanwhile go to the workers) once enough were seen. `timeWorker` sends a call straight to
   * the pool's workers. Returns undefined when the call should go to a worker.
   */
  lone(
    feeds: Feeds,
    options: RunOptions,
    timeWorker: (feeds: Feeds, options: RunOptions) => Promise<Record<string, TensorLike>>,
  ): Promise<Record<string, TensorLike>> | undefined {
    const busy = othersBusy(this.#self);
    if (this.#state === 'on') {
      const session = busy ? this.#solo : this.#session;
      return session ? this.#run(session, feeds, options) : undefined;
    }
    if (busy) return undefined;
    if (this.#state === 'measuring') return this.#timed(feeds, options, timeWorker);
    if (this.#state === 'candidate' && ++this.#lone >= LONE_CALLS_BEFORE_PROBE) {
      this.#state = 'probing';
      void this.#open();
    }
    return undefined;
  }

  /** Two calls overlapped: the run of lone calls starts again. */
  overlapped(): void {
    this.#lone = 0;
    this.#overlaps++;
  }

  async #run(session: BackendSession, feeds: Feeds, options: RunOptions): Promise<Record<string, TensorLike>> {
    this.#busy = true;
    this.#calls++;
    try {
      return await session.run(feeds, options);
    } finally {
      this.#busy = false;
    }
  }

  /**
   * A session on the calling thread with `threads` onnxruntime threads, run once on `feeds`: for lone calls (two
   * are measured, see #open) and for overlapping runs (inline-batches.ts, with every core's thread: the workers
   * are idle while it runs, and the MNIST MLP's 32-row batches ran in 102 µs on two threads against 166 µs on
   * one). Released again if that run fails.
   */
  async #openOnThisThread(feeds: Feeds, threads: number): Promise<BackendSession> {
    const { intraOpNumThreads: _threads, workers: _workers, ...rest } = this.#options;
    const ort = await loadOnnxRuntime();
    if (this.#closed) throw new Error('released');
    const session = await sessionOnThisThread(ort, this.#source, { ...rest, workers: 0, intraOpNumThreads: threads });
    try {
      await session.run(feeds);
    } catch (error) {
      await session.release().catch(() => undefined);
      throw error;
    }
    return session;
  }

  /** Opens the two calling-thread sessions (one run each on the warm-up inputs), then measures on lone calls. */
  async #open(): Promise<void> {
    const feeds = this.#feeds as Feeds;
    const opened: Candidate[] = [];
    try {
      const cores = usableCores();
      for (const threads of cores > 1 ? [cores, 1] : [1])
        opened.push({ session: await this.#openOnThisThread(feeds, threads), threads });
      if (this.#closed) throw new Error('released');
    } catch {
      for (const o of opened) await o.session.release().catch(() => undefined);
      // Released meanwhile: disable() has said why.
      if (!this.#closed)
        this.#stats = {
          inline: false,
          reason: 'The model could not be measured on the calling thread; calls stay on the workers.',
        };
      this.#state = 'off';
      return;
    }
    this.#trial = { candidates: opened, samples: [...opened, undefined].map((): number[] => []), next: 0 };
    this.#state = 'measuring';
    this.#stats = {
      inline: false,
      reason: `Being measured on lone calls: ${PROBE_RUNS} each on the calling thread with ${opened.map((o) => o.threads).join(' and ')} onnxruntime thread(s) and through a worker, in turns.`,
    };
  }

  /**
   * A lone call while measuring, answered by the candidate whose turn it is (a calling-thread session, or a
   * worker; turns in blocks, see BLOCK) and timed. Measured on the calls themselves: a probe timing the sessions
   * on its own ran beside the caller's calls, which went to a worker meanwhile and competed with the
   * multi-thread session. A call during which another one came, or other models' work ran, is answered but not
   * counted.
   */
  #timed(
    feeds: Feeds,
    options: RunOptions,
    timeWorker: (feeds: Feeds, options: RunOptions) => Promise<Record<string, TensorLike>>,
  ): Promise<Record<string, TensorLike>> {
    const trial = this.#trial as Trial;
    const k = Math.floor(trial.next / BLOCK) % trial.samples.length;
    // The first calls of a block follow another candidate's: its session's threads and weights are not warm yet.
    const counted = trial.next % BLOCK >= BLOCK_WARMUP;
    trial.next++;
    const candidate = trial.candidates[k];
    const overlaps = this.#overlaps;
    const started = performance.now();
    const answer = candidate ? this.#run(candidate.session, feeds, options) : timeWorker(feeds, options);
    return answer.then((out) => {
      const ms = performance.now() - started;
      if (counted && this.#trial === trial && overlaps === this.#overlaps && !othersBusy(this.#self)) {
        (trial.samples[k] as number[]).push(ms);
        if (trial.samples.every((xs) => xs.length >= PROBE_RUNS)) void this.#decide(trial);
      }
      return out;
    });
  }

  async #decide(trial: Trial): Promise<void> {
    this.#trial = undefined;
    const medians = trial.samples.map(median);
    const workerMs = medians.at(-1) as number;
    const tried = trial.candidates.map((o, i) => ({ ...o, ms: medians[i] as number }));
    const kept = new Set<BackendSession>();
    try {
      const best = tried.reduce((a, b) => (b.ms < a.ms ? b : a));
      const single = tried.find((t) => t.threads === 1) as (typeof tried)[number];
      const { ms: inlineMs, threads } = best;
      const others = tried
        .filter((t) => t !== best)
        .map((t) => `; ${t.ms.toFixed(3)} ms with ${t.threads}`)
        .join('');
      const figures = `one run takes ${inlineMs.toFixed(3)} ms on the calling thread (${threads === 1 ? '1 onnxruntime thread' : `${threads} onnxruntime threads`}${others}) and ${workerMs.toFixed(3)} ms through a worker`;
      const measured = { inlineMs, inlineThreads: threads, workerMs };
      if (inlineMs <= INLINE_MAX_MS && inlineMs < workerMs) {
        this.#session = best.session;
        kept.add(best.session);
        // While other models' workers run, only a session without pool threads stays inline (see othersBusy).
        const solo = single.ms <= INLINE_MAX_MS && single.ms < workerMs ? single.session : undefined;
        if (solo) {
          this.#solo = solo;
          kept.add(solo);
        }
        this.#state = 'on';
        const beside =
          solo === undefined
            ? ' While other models run, lone calls go to the workers.'
            : solo === best.session
              ? ''
              : ` While other models run, lone calls use a one-thread session (${single.ms.toFixed(3)} ms a run).`;
        this.#stats = {
          inline: true,
          ...measured,
          inlineBesideOthers: solo !== undefined,
          reason: `Lone calls run on the calling thread: ${figures}.${beside}`,
        };
        return;
      }
      const why =
        inlineMs > INLINE_MAX_MS
          ? `over the ${INLINE_MAX_MS} ms the event loop may be blocked`
          : 'the worker is as fast';
      this.#stats = { inline: false, ...measured, reason: `Calls stay on the workers: ${figures}, ${why}.` };
      this.#state = 'off';
    } finally {
      // A call may still be running on a session let go: release waits for the session's runs to settle.
      for (const o of trial.candidates) if (!kept.has(o.session)) await o.session.release().catch(() => undefined);
    }
  }

  /** Every call goes to the workers from now on (test hooks, release). */
  async disable(reason: string): Promise<void> {
    this.#closed = true;
    const batches = this.batches.disable(reason);
    const sessions = new Set([this.#session, this.#solo, ...(this.#trial?.candidates ?? []).map((c) => c.session)]);
    this.#session = undefined;
    this.#solo = undefined;
    this.#trial = undefined;
    if (this.#state !== 'off') this.#stats = { inline: false, reason };
    this.#state = 'off';
    for (const session of sessions) await session?.release().catch(() => undefined);
    await batches;
  }
}
