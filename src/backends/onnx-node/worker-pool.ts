import type { Worker } from 'node:worker_threads';
import { ModelshipError } from '../../errors/index.js';
import {
  CHANNEL_LANES,
  type ChannelClient,
  ChannelClosedError,
  ChannelNotStartedError,
} from '../../platform/node/worker-channel/channel.js';
import { lightlyLoaded } from '../../platform/node/worker-channel/load-monitor.js';
import type { SlotTensor } from '../../platform/node/worker-channel/tensor-codec.js';
import type {
  BackendEvent,
  BackendSession,
  BackendSessionOptions,
  ExecutionStats,
  ModelSource,
  RunOptions,
} from '../../spec/backend.js';
import type { ModelSignature, TensorLike } from '../../spec/tensor.js';
import { callerWait } from './caller-wait.js';
import { InlineExecution, openPools, trackPool, whileStarting } from './inline-runner.js';
import { DEFAULT_RESPAWN_POLICY, type RespawnPolicy } from './crash-loop.js';
import { inTurnsOrTogether, poolModel, startPoolWorkers, throwFirstFailure } from './pool-start.js';
import { crashEvent, crashLoopError, warmUpReplacement } from './worker-replacement.js';
import { newSlot, type Slot, type Waiter } from './worker-slot.js';
import { OP_RUN, type WorkerData } from './worker-protocol.js';
import { fromChannelError, startWorker, stopWorker, type StartedWorker } from './worker-start.js';

export type { RespawnPolicy } from './crash-loop.js';

const CALLER_SPIN = process.env.MODELSHIP_CALLER_SPIN !== '0';

/** A session replicated on worker threads; `run` goes to an idle worker. */
export class WorkerPoolSession implements BackendSession {
  readonly signature: ModelSignature;
  readonly concurrency: number;
  /**
   * A busy worker takes one more run, queued behind the one it executes, so that it starts it as soon as it
   * answers instead of waiting for the caller's thread to wake and send it (a few hundred µs on a VM).
   */
  readonly pipelineDepth = CHANNEL_LANES;
  readonly #model: WorkerData['model'];
  readonly #options: BackendSessionOptions;
  readonly #onEvent: ((event: BackendEvent) => void) | undefined;
  readonly #slots: Slot[];
  readonly #idle: Slot[] = [];
  readonly #waiters: Waiter[] = [];
  readonly #inputIndex: Map<string, number>;
  readonly #outputIndex: Map<string, number>;
  readonly #allOutputs: number[];
  #warmup: ReadonlyArray<Readonly<Record<string, TensorLike>>> = [];
  #released = false;
  /** Set by `crashWorkersForTesting`: how every worker started from now on crashes. */
  #crashForTesting: 'start' | 'run' | undefined;
  readonly #policy: RespawnPolicy;
  /** Moving average of a run's round trip, in ms; decides whether polling for answers pays. */
  #roundTripMs = Infinity;
  /** When two runs last overlapped (performance.now()). */
  #overlapAt = -Infinity;
  /** Lone calls of a small model may run on the calling thread (see inline-runner.ts). */
  readonly #inline: InlineExecution;
  readonly #untrack: () => void;
  /**
   * How the inline measurement sends a lone call to the workers (made once, not per call): straight to them, so
   * that a call arriving meanwhile sees a worker busy and counts as an overlap.
   */
  readonly #measureOnWorkers = (
    feeds: Readonly<Record<string, TensorLike>>,
    options: RunOptions,
  ): Promise<Record<string, TensorLike>> => this.#onWorkers(feeds, options);

  private constructor(
    signature: ModelSignature,
    model: WorkerData['model'],
    options: BackendSessionOptions,
    count: number,
    policy: RespawnPolicy,
    source: ModelSource,
  ) {
    this.signature = signature;
    // Polled by every other pool's lone calls: no array per look, unlike liveWorkers.
    const running = (): boolean => this.#slots.some((slot) => slot.state === 'busy');
    this.#inline = new InlineExecution(source, options, running);
    this.#untrack = trackPool(running);
    this.#policy = policy;
    this.concurrency = count;
    this.#model = model;
    this.#options = options;
    this.#onEvent = options.onEvent;
    this.#slots = Array.from({ length: count }, (_, index) => newSlot(index, policy));
    this.#inputIndex = new Map(signature.inputs.map((s, i) => [s.name, i]));
    this.#outputIndex = new Map(signature.outputs.map((s, i) => [s.name, i]));
    this.#allOutputs = signature.outputs.map((_, i) => i);
  }

  /**
   * Starts `count` workers and resolves once each has loaded the model (rejects if any cannot). `policy`
   * overrides how crashing workers are replaced (tests inject its clock and timer).
   */
  static async create(
    source: ModelSource,
    options: BackendSessionOptions,
    count: number,
    policy: Partial<RespawnPolicy> = {},
  ): Promise<WorkerPoolSession> {
    const model = poolModel(source);
    const workers = await whileStarting(startPoolWorkers(model, options, count, openPools() > 0));
    const pool = new WorkerPoolSession(
      (workers[0] as StartedWorker).signature,
      model,
      options,
      count,
      { ...DEFAULT_RESPAWN_POLICY, ...policy },
      source,
    );
    workers.forEach((w, i) => pool.#attach(pool.#slots[i] as Slot, w));
    return pool;
  }

  #attach(slot: Slot, started: StartedWorker): void {
    slot.worker = started.worker;
    slot.client = started.client;
    slot.priority = started.priority;
    slot.crashes.started();
    slot.onExit = (code) => this.#onExit(slot, started.worker, code);
    started.worker.on('exit', slot.onExit);
    this.#busy(slot);
    this.#release(slot);
  }

  /** Number of workers currently able to take work. */
  get liveWorkers(): number {
    return this.#slots.filter((s) => s.state === 'idle' || s.state === 'busy').length;
  }

  async run(
    feeds: Readonly<Record<string, TensorLike>>,
    options: RunOptions = {},
  ): Promise<Record<string, TensorLike>> {
    options.signal?.throwIfAborted();
    const inline = this.#inline;
    const at = performance.now();
    const overlapping = inline.busy || inline.batches.running > 0 || this.#idle.length < this.concurrency;
    if (overlapping) this.#overlapAt = at;
    if (inline.active) {
      // A lone call may run on this thread. Anything concurrent goes elsewhere, and so does every call for 10 ms
      // after two overlapped: a server under traffic has its next requests waiting behind this one.
      if (overlapping) inline.overlapped();
      else if (at - this.#overlapAt > 10) {
        const answer = inline.lone(feeds, options, this.#measureOnWorkers);
        if (answer) return answer;
      }
    }
    // Under a concurrent load: the workers, or the calling thread where that was measured faster.
    if (at - this.#overlapAt <= 10) return inline.batches.run(feeds, options, this.#measureOnWorkers);
    return this.#onWorkers(feeds, options);
  }

  /** Runs on a worker (idle, or queued behind a busy one, or the next to free up). */
  async #onWorkers(
    feeds: Readonly<Record<string, TensorLike>>,
    options: RunOptions,
  ): Promise<Record<string, TensorLike>> {
    const tensors: SlotTensor[] = [];
    for (const name in feeds)
      tensors.push({ slot: this.#inputIndex.get(name) as number, tensor: feeds[name] as TensorLike });
    const fetch = options.outputs ? options.outputs.map((n) => this.#outputIndex.get(n) as number) : this.#allOutputs;
    let reply;
    for (;;) {
      const slot = this.#idle.pop() ?? this.#queueBehind() ?? (await this.#waitForWorker());
      this.#busy(slot);
      // A lone run on an idle event loop may poll (callerWait). Under load the time is better spent elsewhere
      // and nobody polls: when runs overlapped in the last 10 ms (a server under traffic: its next requests are
      // still in socket buffers while this one runs), or when the loop is busy.
      const started = performance.now();
      const lone = slot.inFlight === 1 && this.#idle.length === this.concurrency - 1;
      if (!lone) this.#overlapAt = started;
      const wait =
        CALLER_SPIN && lone && started - this.#overlapAt > 10 && lightlyLoaded()
          ? callerWait(this.#roundTripMs)
          : undefined;
      try {
        reply = await (slot.client as ChannelClient).call(OP_RUN, { tensors, extra: fetch }, wait);
        if (lone) this.#observe(performance.now() - started);
        break;
      } catch (error) {
        // Queued behind a run whose worker died, and never started: it goes to the next worker instead.
        if (error instanceof ChannelNotStartedError && !this.#released) continue;
        throw fromChannelError(error, slot.index);
      } finally {
        if (slot.state === 'busy') this.#release(slot);
      }
    }
    const out: Record<string, TensorLike> = {};
    for (const { slot: i, tensor } of reply.tensors) out[(this.signature.outputs[i] as { name: string }).name] = tensor;
    return out;
  }

  #observe(ms: number): void {
    this.#roundTripMs = this.#roundTripMs === Infinity ? ms : this.#roundTripMs * 0.9 + ms * 0.1;
  }

  /** A busy worker with room behind its current run, when no worker is idle. */
  #queueBehind(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.#slots)
      if (slot.state === 'busy' && slot.inFlight < this.pipelineDepth && (!best || slot.inFlight < best.inFlight))
        best = slot;
    return best;
  }

  #waitForWorker(): Promise<Slot> {
    if (this.#released) return Promise.reject(new ModelshipError('NOT_READY', 'The session has been released.'));
    if (this.#failingFast()) return Promise.reject(crashLoopError());
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /**
   * A busy worker keeps the process alive (a pending `Atomics.waitAsync` does not); an idle one does not, so
   * a loaded model never stops a process from exiting.
   */
  #busy(slot: Slot): void {
    slot.inFlight++;
    slot.state = 'busy';
    slot.worker?.ref();
  }

  /** One run on `slot` has settled: a waiting call takes its place, or the worker is idle once none is left. */
  #release(slot: Slot): void {
    slot.inFlight--;
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve(slot);
    } else if (slot.inFlight === 0) {
      slot.state = 'idle';
      slot.worker?.unref();
      this.#idle.push(slot);
    }
  }

  /** Runs every feed set on every worker now, and on each replacement worker before it takes requests. */
  async warmup(feeds: ReadonlyArray<Readonly<Record<string, TensorLike>>>): Promise<void> {
    this.#warmup = feeds;
    // Beside other models serving, one worker at a time (see #oneAtATime).
    const settled = await inTurnsOrTogether(
      this.#slots.map((slot) => async () => {
        if (slot.state !== 'idle') return;
        this.#takeIdle(slot);
        // Its own while warming up: no run queues behind these.
        slot.inFlight = this.pipelineDepth;
        try {
          for (const f of feeds) await this.#runOn(slot, f);
        } finally {
          if ((slot.state as Slot['state']) === 'busy') {
            slot.inFlight = 1;
            this.#release(slot);
          }
        }
      }),
      this.#oneAtATime(),
    );
    throwFirstFailure(settled);
  }

  /**
   * Whether loading or releasing this pool moves one worker thread at a time: when other models serve from this
   * process. Opening a session, warming it up and releasing it keep a thread busy for milliseconds; all of a
   * pool's threads at once (one per core) plus the event loop are more runnable threads than cores, and the
   * event loop, which answers the other models, then waits a scheduler slice (about 4 ms here) now and then. A
   * lone MNIST call's p99 beside back-to-back loads of other models went from 4.0–5.0 ms to 2.2–3.8 ms; the
   * loads took about 45 ms instead of 30. A process serving one model starts all its workers at once.
   */
  #oneAtATime(): boolean {
    return openPools() > 1;
  }

  /** After warm-up: lone calls may later be measured on the calling thread (inline-runner.ts). */
  chooseExecution(feeds: ReadonlyArray<Readonly<Record<string, TensorLike>>>): Promise<void> {
    return this.#crashForTesting === undefined ? this.#inline.prepare(feeds) : Promise.resolve();
  }

  /** Whether lone calls run on the calling thread, and why (`model.stats().execution`). */
  executionStats(): ExecutionStats {
    return this.#inline.stats();
  }

  #takeIdle(slot: Slot): void {
    const i = this.#idle.indexOf(slot);
    if (i >= 0) this.#idle.splice(i, 1);
    this.#busy(slot);
  }

  async #runOn(slot: Slot, feeds: Readonly<Record<string, TensorLike>>): Promise<void> {
    const tensors = Object.entries(feeds).map(([name, tensor]) => ({
      slot: this.#inputIndex.get(name) as number,
      tensor,
    }));
    try {
      const started = performance.now();
      await (slot.client as ChannelClient).call(OP_RUN, { tensors, extra: this.#allOutputs });
      this.#observe(performance.now() - started);
    } catch (error) {
      throw fromChannelError(error, slot.index);
    }
  }

  #onExit(slot: Slot, worker: Worker, code: number): void {
    if (slot.worker !== worker || slot.state === 'stopped') return;
    const message = `Worker ${slot.index} exited with code ${code}.`;
    const idle = this.#idle.indexOf(slot);
    if (idle >= 0) this.#idle.splice(idle, 1);
    slot.state = 'waiting';
    slot.inFlight = 0;
    slot.client?.close(new ChannelClosedError(message));
    slot.worker = undefined;
    slot.client = undefined;
    if (this.#released) return;
    this.#failed(slot, message, code);
  }

  /**
   * A worker died (`exitCode`) or a replacement failed to start: the next one starts at once the first time,
   * then after a growing delay. Each delay is reported once; at the cap, not again until the worker recovers.
   */
  #failed(slot: Slot, message: string, exitCode?: number): void {
    const step = slot.crashes.failed();
    slot.state = 'waiting';
    if (step.report) this.#onEvent?.(crashEvent(slot.index, step, slot.crashes.failingFast, message, exitCode));
    if (step.delayMs === 0) this.#restart(slot);
    else {
      this.#policy.schedule(() => {
        if (!this.#released && slot.state === 'waiting') this.#restart(slot);
      }, step.delayMs);
    }
    if (this.#failingFast()) for (const w of this.#waiters.splice(0)) w.reject(crashLoopError());
  }

  #restart(slot: Slot): void {
    slot.state = 'starting';
    let started: StartedWorker | undefined;
    whileStarting(startWorker(this.#model, this.#options, this.#crashForTesting === 'start'))
      .then(async (s) => {
        started = s;
        if (this.#crashForTesting === 'run') s.client.crashOnNextCall();
        const feeds = this.#released ? [] : this.#warmup;
        await warmUpReplacement(s, slot.index, feeds, this.#inputIndex, this.#allOutputs);
        if (this.#released) {
          await stopWorker(s.worker, s.client, s.priority);
          return;
        }
        this.#attach(slot, s);
        this.#onEvent?.({ type: 'worker-restarted', worker: slot.index });
      })
      .catch((error: unknown) => {
        if (started && started.worker.threadId !== -1) void started.worker.terminate();
        if (this.#released) return;
        this.#failed(
          slot,
          error instanceof ChannelClosedError ? error.message : fromChannelError(error, slot.index).message,
        );
      });
  }

  /** No worker is up, and every slot has failed too often in a row to be worth waiting for. */
  #failingFast(): boolean {
    if (this.#slots.some((s) => s.state === 'idle' || s.state === 'busy')) return false;
    return this.#slots.every((s) => s.state === 'stopped' || s.crashes.failingFast);
  }

  /**
   * Test hook: worker `index` exits when it picks up its next call, as a crash inside a custom op would (that
   * call fails with `WORKER_CRASHED`, a replacement starts). Resolves with the exit code. Not public API.
   */
  crashWorkerForTesting(index: number): Promise<number> {
    const slot = this.#slots[index];
    const worker = slot?.worker;
    if (!slot || !worker || !slot.client) return Promise.reject(new Error(`No live worker ${index}.`));
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    void this.#inline.disable('A test crashed a worker.');
    slot.client.crashOnNextCall();
    return exited;
  }

  /**
   * Test hook: from now on every worker crashes, as a model whose custom op kills its thread would: on start
   * (before loading), or on every run (live workers on their next call too). `undefined` stops it. Not public API.
   */
  crashWorkersForTesting(mode: 'start' | 'run' | undefined): void {
    this.#crashForTesting = mode;
    if (mode !== undefined) void this.#inline.disable('A test made the workers crash.');
    if (mode === 'run') for (const slot of this.#slots) slot.client?.crashOnNextCall();
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    const inline = this.#inline.disable('The session was released.');
    this.#untrack();
    const waiters = this.#waiters.splice(0);
    if (waiters.length > 0) {
      const error = new ModelshipError('NOT_READY', 'The session was released while this call waited for a worker.');
      for (const w of waiters) w.reject(error);
    }
    const stops = this.#slots.map((slot) => {
      const { worker, client } = slot;
      slot.state = 'stopped';
      if (slot.onExit) worker?.off('exit', slot.onExit);
      // A healthy thread goes on to the next model this process loads (spare-workers.ts); not one whose
      // pool a test made crash.
      return async (): Promise<void> => {
        if (worker && client) await stopWorker(worker, client, this.#crashForTesting ? undefined : slot.priority);
      };
    });
    // Releasing the sessions is work on those threads too: other models' lone calls count it as such.
    throwFirstFailure(await whileStarting(inTurnsOrTogether(stops, openPools() > 0)));
    await inline;
  }
}
