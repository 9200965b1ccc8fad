import type { ModelSignature, TensorLike } from './tensor.js';

/**
 * Where a backend reads a model from: bytes already in memory, or a file it opens itself (each worker of a pool
 * opens the path, so nothing is copied per worker). `sha256`, when given, is the file's content digest, already
 * verified by the loader; the file does not change while the session holds it.
 */
export type ModelSource =
  | { readonly bytes: Uint8Array }
  | { readonly path: string; readonly sha256?: string; /** Bytes, when the loader knows. */ readonly size?: number };

/** Options every backend understands; backends ignore what does not apply to them. */
export interface BackendSessionOptions {
  /** Threads used inside one operator (onnxruntime `intraOpNumThreads`). */
  readonly intraOpNumThreads?: number;
  /** Threads used across independent operators (onnxruntime `interOpNumThreads`). */
  readonly interOpNumThreads?: number;
  /** onnxruntime graph optimization level. */
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Execution providers in order of preference, e.g. `['cpu']`, `['webgpu', 'wasm']`. */
  readonly executionProviders?: readonly string[];
  /**
   * The runtime's own log threshold (0 verbose … 4 fatal). Defaults to 4: every failure already surfaces as a
   * typed error and through modelship's logger, so the runtime's duplicate lines on stderr are noise.
   */
  readonly logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  /**
   * Worker threads that each hold one session (a pool). `0` runs the session on the calling thread. Backends
   * without threads ignore it; onnxruntime-node defaults to the machine's available parallelism.
   */
  readonly workers?: number;
  /**
   * How many nice levels below the loading thread the worker threads run (Linux; 0 to 19). Backends without
   * threads ignore it; onnxruntime-node defaults to 1 with more than one core, else 0.
   */
  readonly workerNice?: number;
  /**
   * Linux scheduling policy of the worker threads. `'batch'` (the default for onnxruntime-node pools):
   * `SCHED_BATCH`, so a worker woken up never preempts the thread running on its core (your event loop, when it
   * just handed the worker a run) and waits its turn instead, while keeping its fair share of the CPU; set with
   * `chrt` when the system has it. `'normal'`: the default policy. Elsewhere, and for backends without threads,
   * ignored.
   */
  readonly workerScheduling?: 'batch' | 'normal';
  /**
   * `'auto'` (the default for onnxruntime-node pools): after a run of lone calls, measure whether they are
   * answered sooner by a session on the calling thread (small models, at most 2.5 ms a run) and use it for
   * lone calls; under a concurrent load, measure whether overlapping runs answer more rows per second on a
   * one-thread session there than through the workers, and use it if so (inline-batches.ts). `false`: every call
   * goes to the workers. Backends without threads ignore it.
   */
  readonly inline?: 'auto' | false;
  /** Receives lifecycle events such as a worker that died and was replaced (for logs and metrics). */
  readonly onEvent?: (event: BackendEvent) => void;
}

/** Whether lone calls run on the calling thread, and why (`model.stats().execution`). */
export interface ExecutionStats {
  /** True when lone calls on an idle event loop run on the calling thread. */
  readonly inline: boolean;
  /** Median time of one run on the calling thread (ms), when measured: the faster of the two sessions tried. */
  readonly inlineMs?: number;
  /**
   * onnxruntime intra-op threads of the calling thread's session, when measured: the cores (onnxruntime's
   * default) or 1, whichever ran faster.
   */
  readonly inlineThreads?: number;
  /**
   * Whether lone calls stay on the calling thread while other models' workers run or start, on a one-thread
   * session (it has no onnxruntime pool thread to wait for), when measured.
   */
  readonly inlineBesideOthers?: boolean;
  /** Median time of one lone run through a worker, round trip included (ms), when measured. */
  readonly workerMs?: number;
  /** Calls answered on the calling thread so far (while `inline`). */
  readonly inlineCalls?: number;
  /** Why, in a sentence. */
  readonly reason: string;
  /** Where runs that overlap others go (a concurrent load): the workers, or the calling thread. */
  readonly batches?: BatchExecutionStats;
}

/** Where a model's overlapping runs go, as measured on the load itself (`model.stats().execution.batches`). */
export interface BatchExecutionStats {
  /** True when overlapping runs go to a one-thread session on the calling thread instead of the workers. */
  readonly inline: boolean;
  /** Median rows per second answered on the calling thread in the last trial. */
  readonly inlineRowsPerSecond?: number;
  /** Median rows per second answered through the workers in the last trial. */
  readonly workerRowsPerSecond?: number;
  /** Average rows per run when the choice was made; a load that halves or doubles it is measured again. */
  readonly rowsPerRun?: number;
  /** Trials so far. */
  readonly trials?: number;
  /** Runs answered on the calling thread while `inline`. */
  readonly inlineRuns?: number;
  /** Why, in a sentence. */
  readonly reason: string;
}

/** Something a backend reports about its own lifecycle. */
export type BackendEvent =
  | {
      /** A worker thread exited unexpectedly; its in-flight run failed with `WORKER_CRASHED`. */
      readonly type: 'worker-crashed';
      readonly worker: number;
      readonly exitCode: number;
      readonly message: string;
    }
  | { readonly type: 'worker-restarted'; readonly worker: number }
  | {
      /** A replacement worker could not start; it is retried after `retryInMs` (or given up when undefined). */
      readonly type: 'worker-start-failed';
      readonly worker: number;
      readonly message: string;
      readonly retryInMs?: number;
    };

/** Per-call options. */
export interface RunOptions {
  readonly signal?: AbortSignal;
  /** Output names to compute; all outputs when absent. */
  readonly outputs?: readonly string[];
}

/** One loaded model inside a backend. */
export interface BackendSession {
  readonly signature: ModelSignature;
  /**
   * How many `run` calls the session executes at the same time (a pool: its worker count). Callers keep at
   * most this many in flight and queue the rest themselves, which is where batching happens. Default 1.
   */
  readonly concurrency?: number;
  /**
   * How many runs each of those accepts at once: 2 for a pool whose worker takes its next run while it
   * executes one (it then never waits for the caller's thread between runs). Callers may keep
   * `concurrency × pipelineDepth` in flight. Default 1.
   */
  readonly pipelineDepth?: number;
  /**
   * Runs each feed set on every replica (every worker of a pool), now and on replicas started later, so no
   * request pays for first-run initialisation. Rejects if a run fails. Without it, callers `run` each once.
   */
  warmup?(feeds: ReadonlyArray<Readonly<Record<string, TensorLike>>>): Promise<void>;
  /**
   * Called once after warm-up (and after batching has been measured) with the warm-up feeds: a backend that can
   * run a model more than one way measures and picks (onnxruntime-node: lone calls on the calling thread).
   */
  chooseExecution?(feeds: ReadonlyArray<Readonly<Record<string, TensorLike>>>): Promise<void>;
  /** What `chooseExecution` picked, and why. */
  executionStats?(): ExecutionStats;
  /** Runs the model. Feeds are already validated against `signature`. */
  run(feeds: Readonly<Record<string, TensorLike>>, options?: RunOptions): Promise<Record<string, TensorLike>>;
  /** Frees native resources. Called once, after every `run` has settled. */
  release(): Promise<void>;
}

/**
 * An inference engine (onnxruntime-node, onnxruntime-web, a worker pool around them…).
 * The only place a runtime such as onnxruntime is imported is an implementation of this interface.
 */
export interface InferenceBackend {
  readonly specificationVersion: 'v1';
  /** A short identifier such as `onnxruntime-node`. */
  readonly name: string;
  /** Opens a session on a model (its bytes, or a file path where the runtime reads files). */
  createSession(source: ModelSource, options?: BackendSessionOptions): Promise<BackendSession>;
}
