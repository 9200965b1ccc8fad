import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { ModelshipError } from '../../errors/index.js';
import {
  ChannelClient,
  ChannelClosedError,
  createChannelMemory,
  type CallerWait,
  OP_STOP,
  type ChannelError,
} from '../../platform/node/worker-channel/channel.js';
import { lightlyLoaded } from '../../platform/node/worker-channel/load-monitor.js';
import type { SlotTensor } from '../../platform/node/worker-channel/tensor-codec.js';
import type { BackendEvent, BackendSession, BackendSessionOptions, ModelSource, RunOptions } from '../../spec/backend.js';
import type { ModelSignature, TensorLike } from '../../spec/tensor.js';
import { OP_RUN, type WorkerData, type WorkerStatus } from './worker-protocol.js';

const CALLER_SPIN = process.env.MODELSHIP_CALLER_SPIN !== '0';

/** How long `release()` waits for a worker to stop by itself before terminating it. */
const STOP_TIMEOUT_MS = 5000;
/** Replacement workers that fail to start are retried with backoff, then given up on. */
const MAX_START_ATTEMPTS = 5;

/**
 * How to start the worker: the built `session-worker.js` next to this module, or, when the sources run
 * untranspiled (tsx, vitest), a bootstrap that registers tsx's loader inside the worker first, since Node 20
 * does not carry the parent's loader hooks into workers.
 */
function tsxEsmApi(from: string): string {
  const pkgPath = createRequire(from).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return new URL((pkg.exports['./esm/api'] as { import: { default: string } }).import.default, pathToFileURL(pkgPath)).href;
}

function workerEntry(): { script: URL | string; eval: boolean } {
  const here = fileURLToPath(import.meta.url);
  const fromSource = /\.[cm]?ts$/.test(here);
  // Paths built with path.join, not `new URL('…', import.meta.url)`: bundlers resolve that pattern at build
  // time, and the source-tree name does not exist in a build.
  const file = join(dirname(here), `session-worker.${fromSource ? 'ts' : 'js'}`);
  if (!fromSource) return { script: builtWorker(here, file), eval: false };
  const api = tsxEsmApi(import.meta.url);
  const script = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(file).href)}); });`;
  return { script, eval: true };
}

/**
 * The built worker entry: beside this chunk in modelship's `dist/`, or, when an app bundler copied modelship
 * into its own output (Next.js without `serverExternalPackages`), wherever the installed package is.
 */
function builtWorker(here: string, file: string): URL {
  if (existsSync(file)) return pathToFileURL(file);
  try {
    return pathToFileURL(createRequire(here).resolve(['modelship', 'session-worker'].join('/')));
  } catch {
    throw new ModelshipError(
      'MODEL_LOAD_FAILED',
      `modelship's worker entry (session-worker.js) is not next to the bundled code and the modelship package cannot be resolved from it. Keep modelship out of your server bundle (Next.js: serverExternalPackages: ['modelship', 'onnxruntime-node']), or pass workers: 0 to run on the calling thread.`,
    );
  }
}

function fromChannelError(error: unknown, worker: number): ModelshipError {
  if (error instanceof ChannelClosedError) {
    return new ModelshipError('WORKER_CRASHED', `${error.message} The request was not answered; retry it.`, {
      cause: error,
      details: { worker },
    });
  }
  if (ModelshipError.isInstance(error)) return error;
  const e = error as ChannelError;
  if (e && typeof e === 'object' && typeof e.code === 'string' && typeof e.message === 'string') {
    const code = e.code as ConstructorParameters<typeof ModelshipError>[0];
    return new ModelshipError(code, e.message, e.details === undefined ? {} : { details: e.details });
  }
  return new ModelshipError('INTERNAL', `Unexpected worker failure: ${String(error)}`, { cause: error });
}

interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  client: ChannelClient | undefined;
  state: 'starting' | 'idle' | 'busy' | 'dead' | 'stopped';
  attempts: number;
}

interface Waiter {
  resolve: (slot: Slot) => void;
  reject: (error: unknown) => void;
}

/** A session replicated on worker threads; `run` goes to an idle worker. */
export class WorkerPoolSession implements BackendSession {
  readonly signature: ModelSignature;
  readonly concurrency: number;
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
  /** Moving average of a run's round trip, in ms; decides whether polling for answers pays. */
  #roundTripMs = Infinity;
  /** When two runs last overlapped (performance.now()). */
  #overlapAt = -Infinity;

  private constructor(signature: ModelSignature, model: WorkerData['model'], options: BackendSessionOptions, count: number) {
    this.signature = signature;
    this.concurrency = count;
    this.#model = model;
    this.#options = options;
    this.#onEvent = options.onEvent;
    this.#slots = Array.from({ length: count }, (_, index) => ({ index, worker: undefined, client: undefined, state: 'starting', attempts: 0 }));
    this.#inputIndex = new Map(signature.inputs.map((s, i) => [s.name, i]));
    this.#outputIndex = new Map(signature.outputs.map((s, i) => [s.name, i]));
    this.#allOutputs = signature.outputs.map((_, i) => i);
  }

  /** Starts `count` workers and resolves once each has loaded the model (rejects if any cannot). */
  static async create(source: ModelSource, options: BackendSessionOptions, count: number): Promise<WorkerPoolSession> {
    let model: WorkerData['model'];
    if ('bytes' in source) {
      // One shared copy, however many workers (and replacements) read it.
      const bytes = new SharedArrayBuffer(source.bytes.byteLength);
      new Uint8Array(bytes).set(source.bytes);
      model = { kind: 'bytes', bytes };
    } else {
      model = { kind: 'path', path: source.path };
    }
    const started = await Promise.allSettled(Array.from({ length: count }, () => startWorker(model, options)));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(started.map((r) => (r.status === 'fulfilled' ? stopWorker(r.value.worker, r.value.client) : undefined)));
      throw failed.reason;
    }
    const workers = started.map((r) => (r as PromiseFulfilledResult<StartedWorker>).value);
    const pool = new WorkerPoolSession((workers[0] as StartedWorker).signature, model, options, count);
    workers.forEach((w, i) => pool.#attach(pool.#slots[i] as Slot, w));
    return pool;
  }

  #attach(slot: Slot, started: StartedWorker): void {
    slot.worker = started.worker;
    slot.client = started.client;
    slot.attempts = 0;
    started.worker.on('exit', (code) => this.#onExit(slot, started.worker, code));
    this.#busy(slot);
    this.#release(slot);
  }

  /** Number of workers currently able to take work. */
  get liveWorkers(): number {
    return this.#slots.filter((s) => s.state === 'idle' || s.state === 'busy').length;
  }

  async run(feeds: Readonly<Record<string, TensorLike>>, options: RunOptions = {}): Promise<Record<string, TensorLike>> {
    options.signal?.throwIfAborted();
    const tensors: SlotTensor[] = [];
    for (const name in feeds) tensors.push({ slot: this.#inputIndex.get(name) as number, tensor: feeds[name] as TensorLike });
    const fetch = options.outputs ? options.outputs.map((n) => this.#outputIndex.get(n) as number) : this.#allOutputs;
    const slot = this.#idle.pop() ?? (await this.#waitForWorker());
    this.#busy(slot);
    // A lone run on an idle event loop may poll (callerWait). Under load the time is better spent elsewhere
    // and nobody polls: when runs overlapped in the last 10 ms (a server under traffic: its next requests are
    // still in socket buffers while this one runs), or when the loop is busy.
    const started = performance.now();
    const lone = this.#idle.length === this.concurrency - 1;
    if (!lone) this.#overlapAt = started;
    const wait = CALLER_SPIN && lone && started - this.#overlapAt > 10 && lightlyLoaded() ? callerWait(this.#roundTripMs) : undefined;
    let reply;
    try {
      reply = await (slot.client as ChannelClient).call(OP_RUN, { tensors, extra: fetch }, wait);
      this.#observe(performance.now() - started);
    } catch (error) {
      throw fromChannelError(error, slot.index);
    } finally {
      if (slot.state === 'busy') this.#release(slot);
    }
    const out: Record<string, TensorLike> = {};
    for (const { slot: i, tensor } of reply.tensors) out[(this.signature.outputs[i] as { name: string }).name] = tensor;
    return out;
  }

  #observe(ms: number): void {
    this.#roundTripMs = this.#roundTripMs === Infinity ? ms : this.#roundTripMs * 0.9 + ms * 0.1;
  }

  #waitForWorker(): Promise<Slot> {
    if (this.#released) return Promise.reject(new ModelshipError('NOT_READY', 'The session has been released.'));
    if (this.#slots.every((s) => s.state === 'dead' || s.state === 'stopped')) {
      return Promise.reject(new ModelshipError('WORKER_CRASHED', 'Every worker of this model has crashed and could not be restarted; reload the model.'));
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /**
   * A busy worker keeps the process alive (a pending `Atomics.waitAsync` does not); an idle one does not, so
   * a loaded model never stops a process from exiting.
   */
  #busy(slot: Slot): void {
    slot.state = 'busy';
    slot.worker?.ref();
  }

  #release(slot: Slot): void {
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve(slot);
    } else {
      slot.state = 'idle';
      slot.worker?.unref();
      this.#idle.push(slot);
    }
  }

  /** Runs every feed set on every worker now, and on each replacement worker before it takes requests. */
  async warmup(feeds: ReadonlyArray<Readonly<Record<string, TensorLike>>>): Promise<void> {
    this.#warmup = feeds;
    await Promise.all(
      this.#slots.map(async (slot) => {
        if (slot.state !== 'idle') return;
        this.#takeIdle(slot);
        try {
          for (const f of feeds) await this.#runOn(slot, f);
        } finally {
          if ((slot.state as Slot['state']) === 'busy') this.#release(slot);
        }
      }),
    );
  }

  #takeIdle(slot: Slot): void {
    const i = this.#idle.indexOf(slot);
    if (i >= 0) this.#idle.splice(i, 1);
    this.#busy(slot);
  }

  async #runOn(slot: Slot, feeds: Readonly<Record<string, TensorLike>>): Promise<void> {
    const tensors: SlotTensor[] = Object.entries(feeds).map(([name, tensor]) => ({ slot: this.#inputIndex.get(name) as number, tensor }));
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
    slot.state = 'dead';
    slot.client?.close(new ChannelClosedError(message));
    slot.worker = undefined;
    slot.client = undefined;
    this.#onEvent?.({ type: 'worker-crashed', worker: slot.index, exitCode: code, message });
    if (!this.#released) this.#restart(slot);
    this.#failWaitersIfNoWorkers();
  }

  #restart(slot: Slot): void {
    slot.state = 'starting';
    slot.attempts++;
    startWorker(this.#model, this.#options)
      .then(async (started) => {
        if (this.#released) {
          await stopWorker(started.worker, started.client);
          return;
        }
        for (const f of this.#warmup) {
          await started.client.call(OP_RUN, {
            tensors: Object.entries(f).map(([name, tensor]) => ({ slot: this.#inputIndex.get(name) as number, tensor })),
            extra: this.#allOutputs,
          });
        }
        this.#attach(slot, started);
        this.#onEvent?.({ type: 'worker-restarted', worker: slot.index });
      })
      .catch((error: unknown) => {
        const message = fromChannelError(error, slot.index).message;
        if (this.#released) return;
        if (slot.attempts >= MAX_START_ATTEMPTS) {
          slot.state = 'dead';
          this.#onEvent?.({ type: 'worker-start-failed', worker: slot.index, message });
          this.#failWaitersIfNoWorkers();
          return;
        }
        const retryInMs = Math.min(100 * 2 ** slot.attempts, 5000);
        this.#onEvent?.({ type: 'worker-start-failed', worker: slot.index, message, retryInMs });
        setTimeout(() => {
          if (!this.#released) this.#restart(slot);
        }, retryInMs).unref();
      });
  }

  #failWaitersIfNoWorkers(): void {
    if (this.#slots.some((s) => s.state !== 'dead' && s.state !== 'stopped')) return;
    const error = new ModelshipError('WORKER_CRASHED', 'Every worker of this model has crashed and could not be restarted; reload the model.');
    for (const w of this.#waiters.splice(0)) w.reject(error);
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
    slot.client.crashOnNextCall();
    return exited;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    const error = new ModelshipError('NOT_READY', 'The session was released while this call waited for a worker.');
    for (const w of this.#waiters.splice(0)) w.reject(error);
    await Promise.all(
      this.#slots.map(async (slot) => {
        const { worker, client } = slot;
        slot.state = 'stopped';
        if (worker && client) await stopWorker(worker, client);
      }),
    );
  }
}

/**
 * The flags a worker is started with. Normally none are passed, and Node gives the worker the parent's own
 * (leaving out what only applies to a whole process, such as `--max-old-space-size`). Only when the parent
 * ran with `--input-type` (`node --input-type=module -e …`) must the list be passed explicitly, without that
 * flag: a worker started from a file refuses it.
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] | undefined {
  if (!argv.some((a) => a === '--input-type' || a.startsWith('--input-type='))) return undefined;
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--input-type') i++;
    else if (!a.startsWith('--input-type=')) out.push(a);
  }
  return out;
}

/**
 * `argv` without the flags a `Worker` refused (`ERR_WORKER_INVALID_EXEC_ARGV` lists them: V8 and per-process
 * options such as `--max-old-space-size`), and without the value that follows such a flag when it was given as
 * a separate argument.
 */
export function withoutRefusedFlags(argv: readonly string[], refused: readonly string[]): string[] {
  const drop = new Set(refused);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!drop.has(a)) {
      out.push(a);
      continue;
    }
    const next = argv[i + 1];
    if (!a.includes('=') && next !== undefined && !next.startsWith('-')) i++;
  }
  return out;
}

function spawnWorker(script: URL | string, options: ConstructorParameters<typeof Worker>[1] & object): Worker {
  const execArgv = workerExecArgv();
  if (execArgv === undefined) return new Worker(script, options);
  try {
    return new Worker(script, { ...options, execArgv });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
    const refused = (error as Error).message.slice((error as Error).message.indexOf(':') + 1).split(',').map((f) => f.trim());
    return new Worker(script, { ...options, execArgv: withoutRefusedFlags(execArgv, refused) });
  }
}

interface StartedWorker {
  readonly worker: Worker;
  readonly client: ChannelClient;
  readonly signature: ModelSignature;
}

function startWorker(model: WorkerData['model'], options: BackendSessionOptions): Promise<StartedWorker> {
  const { control, arena } = createChannelMemory();
  const { port1, port2 } = new MessageChannel();
  const { onEvent: _onEvent, ...sessionOptions } = options;
  // MODELSHIP_WORKER_SPIN_MS / MODELSHIP_CALLER_SPIN=0 exist for measuring the polling trade-offs (docs/performance.md).
  const spinEnv = process.env.MODELSHIP_WORKER_SPIN_MS;
  const data: WorkerData = {
    channel: { control, arena, port: port2 },
    model,
    options: { ...sessionOptions, workerNice: sessionOptions.workerNice ?? defaultWorkerNice() },
    ...(spinEnv === undefined ? {} : { spinMs: Number(spinEnv) }),
  };
  const entry = workerEntry();
  let worker: Worker;
  try {
    worker = spawnWorker(entry.script, { eval: entry.eval, workerData: data, transferList: [port2] });
  } catch (cause) {
    return Promise.reject(
      new ModelshipError('MODEL_LOAD_FAILED', `The worker thread could not be started: ${(cause as Error).message}`, { cause }),
    );
  }
  return new Promise<StartedWorker>((resolve, reject) => {
    const onExit = (code: number): void => {
      reject(new ModelshipError('MODEL_LOAD_FAILED', `The worker thread exited with code ${code} while loading the model.`));
    };
    const onError = (error: Error): void => {
      reject(new ModelshipError('MODEL_LOAD_FAILED', `The worker thread failed while loading the model: ${error.message}`, { cause: error }));
    };
    worker.once('exit', onExit);
    worker.once('error', onError);
    worker.once('message', (status: WorkerStatus) => {
      worker.off('exit', onExit);
      worker.off('error', onError);
      if (status.type === 'ready') {
        // Errors after start-up surface as 'exit'; keep a listener so they are not uncaught.
        worker.on('error', () => undefined);
        resolve({ worker, client: new ChannelClient({ control, arena, port: port1 }), signature: status.signature });
      } else {
        reject(fromChannelError(status.error, -1));
        void worker.terminate();
      }
    });
  });
}

async function stopWorker(worker: Worker, client: ChannelClient): Promise<void> {
  if (worker.threadId === -1) return; // already exited
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
  try {
    await client.call(OP_STOP, { tensors: [], extra: [] }).catch(() => undefined);
    client.close(new ChannelClosedError('The session was released.'));
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polling for a lone run on an otherwise idle event loop (the loop has nothing else to do meanwhile):
 * - the worker polls for the next call after answering, so it does not fall into a futex sleep from which it
 *   would start late and run cold (+10 µs per inference measured here);
 * - the caller polls for answers due within 40 µs (a small model), with room for jitter (3× the usual round
 *   trip, at most 0.1 ms): an event-loop wake-up would cost as much as the inference. For longer runs it
 *   waits on the event loop: the wake-up is then a small share, and on a 2-core machine a polling caller
 *   measurably slowed the worker's own run.
 */
function callerWait(roundTripMs: number): CallerWait {
  return { ms: roundTripMs < 0.04 ? Math.min(0.1, 3 * roundTripMs) : 0, workerPolls: true };
}

/**
 * Default nice increment of the workers (see `lowerThreadPriority`). Waking a worker at the same priority as
 * the event loop lets it preempt the event loop on a busy core (measured here: a third of the futex wake-ups
 * the event loop issued took 0.1–1 ms); lower, the woken worker takes another core or waits for the
 * scheduler's next tick instead. With a single core there is no other core to take, and a lower priority would
 * only let the event loop accept requests faster than the workers can answer them: 0 there.
 */
export function defaultWorkerNice(): number {
  return availableParallelism() > 1 ? 10 : 0;
}

/** Default worker count: one per core the process may use. */
export function defaultWorkerCount(): number {
  return availableParallelism();
}

/** Threads per session when `count` workers share the machine and the caller did not choose. */
export function defaultIntraOpThreads(count: number): number {
  return Math.max(1, Math.floor(availableParallelism() / count));
}
