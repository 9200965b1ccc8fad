/**
 * Starting and stopping one pool worker thread: where its entry is, the flags it gets, and the hand-shake
 * until its session is loaded. The pool (worker-pool.ts) decides when.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { usableCores } from '../../platform/node/cores.js';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { ModelshipError } from '../../errors/index.js';
import {
  ChannelClient,
  ChannelClosedError,
  createChannelMemory,
  reuseChannelMemory,
  OP_STOP,
  type ChannelError,
} from '../../platform/node/worker-channel/channel.js';
import type { BackendSessionOptions } from '../../spec/backend.js';
import type { ModelSignature } from '../../spec/tensor.js';
import type { WorkerCommand, WorkerData, WorkerLease, WorkerStatus } from './worker-protocol.js';
import { keepSpare, takeSpare } from './spare-workers.js';

/** How long `release()` waits for a worker to stop by itself before terminating it. */
const STOP_TIMEOUT_MS = 5000;

/**
 * How to start the worker: the built `session-worker.js` next to this module, or, when the sources run
 * untranspiled (tsx, vitest), a bootstrap that registers tsx's loader inside the worker first, since Node 20
 * does not carry the parent's loader hooks into workers.
 */
function tsxEsmApi(from: string): string {
  const pkgPath = createRequire(from).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return new URL((pkg.exports['./esm/api'] as { import: { default: string } }).import.default, pathToFileURL(pkgPath))
    .href;
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

/** A channel or worker failure as the error a caller gets. */
export function fromChannelError(error: unknown, worker: number): ModelshipError {
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
    const refused = (error as Error).message
      .slice((error as Error).message.indexOf(':') + 1)
      .split(',')
      .map((f) => f.trim());
    return new Worker(script, { ...options, execArgv: withoutRefusedFlags(execArgv, refused) });
  }
}

/** A worker whose session is loaded, and the caller's end of its channel. */
export interface StartedWorker {
  readonly worker: Worker;
  readonly client: ChannelClient;
  readonly signature: ModelSignature;
  /** The thread's nice increment and scheduling policy (a spare is handed on only at the same; see `workerPriority`). */
  readonly priority: string;
}

/** Workers that have a listener for errors after start-up (a reused thread gets one only once). */
const quietened = new WeakSet<Worker>();

/**
 * Starts a worker, on a spare thread when one is kept at the same priority (spare-workers.ts), and resolves
 * once its session is loaded (rejects with `MODEL_LOAD_FAILED` or the load's error).
 */
export function startWorker(
  model: WorkerData['model'],
  options: BackendSessionOptions,
  exitOnStartForTesting = false,
): Promise<StartedWorker> {
  const { onEvent: _onEvent, ...sessionOptions } = options;
  const nice = sessionOptions.workerNice ?? defaultWorkerNice();
  const scheduling = sessionOptions.workerScheduling ?? 'batch';
  const priority = workerPriority(nice, scheduling);
  const spare = exitOnStartForTesting ? undefined : takeSpare(priority);
  const { control, arenas } = spare?.memory ?? createChannelMemory();
  const { port1, port2 } = new MessageChannel();
  // MODELSHIP_WORKER_SPIN_MS / MODELSHIP_CALLER_SPIN=0 exist for measuring the polling trade-offs (docs/performance.md).
  const spinEnv = process.env.MODELSHIP_WORKER_SPIN_MS;
  const lease: WorkerLease = {
    channel: { control, arenas, port: port2 },
    model,
    options: { ...sessionOptions, workerNice: nice, workerScheduling: scheduling },
    ...(spinEnv === undefined ? {} : { spinMs: Number(spinEnv) }),
  };
  let worker: Worker | undefined = spare?.worker;
  if (worker) {
    worker.postMessage({ type: 'lease', lease } satisfies WorkerCommand, [port2]);
  } else {
    const entry = workerEntry();
    const data: WorkerData = { ...lease, ...(exitOnStartForTesting ? { exitOnStartForTesting } : {}) };
    try {
      worker = spawnWorker(entry.script, { eval: entry.eval, workerData: data, transferList: [port2] });
    } catch (cause) {
      return Promise.reject(
        new ModelshipError('MODEL_LOAD_FAILED', `The worker thread could not be started: ${(cause as Error).message}`, {
          cause,
        }),
      );
    }
  }
  const started = worker;
  return new Promise<StartedWorker>((resolve, reject) => {
    const onExit = (code: number): void => {
      reject(
        new ModelshipError('MODEL_LOAD_FAILED', `The worker thread exited with code ${code} while loading the model.`),
      );
    };
    const onError = (error: Error): void => {
      reject(
        new ModelshipError('MODEL_LOAD_FAILED', `The worker thread failed while loading the model: ${error.message}`, {
          cause: error,
        }),
      );
    };
    started.once('exit', onExit);
    started.once('error', onError);
    started.once('message', (status: WorkerStatus) => {
      started.off('exit', onExit);
      started.off('error', onError);
      if (status.type === 'ready') {
        // Errors after start-up surface as 'exit'; keep a listener so they are not uncaught.
        if (!quietened.has(started)) {
          quietened.add(started);
          started.on('error', () => undefined);
        }
        const client = new ChannelClient({ control, arenas, port: port1 });
        resolve({ worker: started, client, signature: status.signature, priority });
      } else {
        reject(fromChannelError(status.error, -1));
        void started.terminate();
      }
    });
  });
}

/** What a spare thread is matched on: its nice increment and its scheduling policy (both set once, at its start). */
export function workerPriority(nice: number, scheduling: 'batch' | 'normal'): string {
  return `nice +${nice}, ${scheduling}`;
}

/**
 * Stops a worker's session. With `spareAt` (its priority), the thread is kept as a spare for the next model
 * if it answered; otherwise it is terminated (within 5 s).
 */
export async function stopWorker(worker: Worker, client: ChannelClient, spareAt?: string): Promise<void> {
  if (worker.threadId === -1) return; // already exited
  // A worker that does not answer within 5 s is terminated anyway.
  const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
  try {
    const answered = await client.call(OP_STOP, { tensors: [], extra: [] }).then(
      () => true,
      () => false,
    );
    client.close(() => new ChannelClosedError('The session was released.'));
    if (answered && spareAt !== undefined) {
      // The worker has answered the stop: its end of the channel is done with the memory.
      const memory = reuseChannelMemory(client.memory());
      if (keepSpare(worker, spareAt, usableCores(), memory)) return;
    }
    await worker.terminate();
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Default nice increment of the workers (see `lowerThreadPriority`). Waking a worker at the same priority as
 * the event loop lets it preempt the event loop on a busy core (measured here: a third of the futex wake-ups
 * the event loop issued took 0.1–1 ms); one level lower, the event loop wins those contests. Only 1 level:
 * beside another busy process in the same session (a co-tenant at nice 0), every level costs the pool its
 * share of a shared core (CNN, 8 callers, vs raw beside the same process: 1.17× at 0, 1.10× at 1, 0.98× at 2;
 * at 10, a fifth to a third of the nice-2 figure), while alone the three measured within noise (1.69–1.72×)
 * and the event loop's p99 delay was 3.2 ms at 0, 2.1–2.4 ms at 1 and 2 (docs/performance.md, `workerNice`).
 * With a single core there is no other core to take, and a lower priority would only let the event loop
 * accept requests faster than the workers can answer them: 0 there. One level still let a worker woken for a
 * short run preempt the event loop; `SCHED_BATCH` (`workerScheduling`, thread-priority.ts) stops that.
 */
export function defaultWorkerNice(): number {
  return usableCores() > 1 ? 1 : 0;
}

/**
 * Default worker count: one per core the process may use, or, when the caller chose `intraOpThreads` per
 * session, as many workers as fit the cores with that many threads each (never more threads than cores).
 */
export function defaultWorkerCount(intraOpThreads?: number): number {
  const cores = usableCores();
  return intraOpThreads ? Math.max(1, Math.floor(cores / intraOpThreads)) : cores;
}

/** Threads per session when `count` workers share the machine and the caller did not choose. */
export function defaultIntraOpThreads(count: number): number {
  return Math.max(1, Math.floor(usableCores() / count));
}
