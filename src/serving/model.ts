import { Batcher, isBatchable, resolveBatching, synthesizeInputs } from './batching/index.js';
import type { BatcherConfig } from './batching/index.js';
import { calibrateOrReuse } from './batching/curve-cache.js';
import { DEFAULT_MAX_ROWS, toFeeds, type InputLimits, type PredictInput } from '../core/input.js';
import { assertDeadlineMs } from '../core/deadline.js';
import { Tensor } from '../core/tensor.js';
import { ModelshipError, toModelshipError } from '../errors/index.js';
import type { BackendEvent, BackendSession } from '../spec/backend.js';
import type { ModelStats } from './model-stats.js';
import type { ModelLineage } from '../spec/lineage.js';
import type { ModelSignature, TensorLike } from '../spec/tensor.js';
import { ModelTelemetry } from '../telemetry/index.js';
import { feedbackTo, watchPrediction } from '../monitoring/monitored.js';
import type { FeedbackOutcome, ModelMonitor, Monitored } from '../monitoring/index.js';
import { logBackendEvent } from './backend-event-log.js';
import type { Logger } from './logger.js';
import type { ModelState, PredictOptions, PredictOutputs, ServableModel } from './servable.js';

const NO_OPTIONS: PredictOptions = Object.freeze({});

/** Where a loaded model came from. */
export interface ModelSourceInfo {
  /** The reference passed to `loadModel` (a registry ref or a path). */
  readonly ref: string;
  /** The registry kind that resolved it (`local`, `mlflow`…), if any. */
  readonly registry?: string;
  /** Aliases pointing at this version when it was resolved. */
  readonly aliases?: readonly string[];
}

export type { ModelStats } from './model-stats.js';

/** A model loaded into a backend and ready (or getting ready) to serve. Create it with `loadModel`. */
export interface Model extends ServableModel, AsyncDisposable, Monitored {
  /** Lower-case hex sha256 of the model file that was verified and loaded. */
  readonly sha256: string;
  /** Size of the model file in bytes. */
  readonly size: number;
  readonly source: ModelSourceInfo;
  /** The batching in effect (`enabled: false` when the signature does not allow it); `stats().batching` says why. */
  readonly batching: BatcherConfig;
  /** What the model is doing now: calls in flight, queue depth, running batches, and the batching in effect. */
  stats(): ModelStats;
  /** Training run, git commit and data versions recorded when the model was published, if any. */
  readonly lineage: ModelLineage | undefined;
}

/** Everything `createModel` needs; assembled by `loadModel`. */
export interface CreateModelInit {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
  readonly size: number;
  readonly session: BackendSession;
  readonly platform: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly source: ModelSourceInfo;
  readonly lineage?: ModelLineage;
  readonly maxRows?: number;
  /** Accept NaN and ±Infinity in float inputs. */
  readonly allowNonFinite?: boolean;
  readonly warmup: boolean | { inputs: unknown };
  /**
   * Names the model file and session setup (`loadModel` passes the file's sha256 and the session options): a
   * later model with the same key reuses the batch-gain curve measured for this one instead of measuring again.
   */
  readonly calibrationKey?: string;
  /** Defaults to batching on (64 rows, no delay) when the signature allows it. */
  readonly batching?: BatcherConfig;
  readonly logger: Logger;
  readonly monitor?: ModelMonitor;
}

const PRIORITIES = new Set(['high', 'normal', 'low']);

function checkPredictOptions(options: PredictOptions): void {
  const { deadlineMs, priority } = options;
  if (deadlineMs !== undefined) assertDeadlineMs(deadlineMs);
  if (priority !== undefined && !PRIORITIES.has(priority)) {
    throw new ModelshipError(
      'INVALID_ARGUMENT',
      `priority must be "high", "normal" or "low", got ${JSON.stringify(priority)}.`,
    );
  }
}

class LoadedModel implements Model {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
  readonly size: number;
  readonly signature: ModelSignature;
  readonly platform: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly source: ModelSourceInfo;
  readonly lineage: ModelLineage | undefined;
  readonly monitoring: ModelMonitor | undefined;
  #state: ModelState = 'warming';
  readonly #session: BackendSession;
  readonly #calibrationKey: string | undefined;
  readonly #batcher: Batcher;
  readonly #telemetry: ModelTelemetry;
  /** Made once: `toFeeds` takes its limits as an object, and predict should not make one per call. */
  readonly #limits: InputLimits;
  readonly #logger: Logger;
  readonly #outputNames: ReadonlySet<string>;
  #inFlight = 0;
  readonly #ready: Promise<void>;
  #closing: Promise<void> | undefined;
  #failure: ModelshipError | undefined;

  constructor(init: CreateModelInit) {
    this.name = init.name;
    this.version = init.version;
    this.sha256 = init.sha256;
    this.size = init.size;
    this.signature = init.session.signature;
    this.platform = init.platform;
    this.metadata = init.metadata;
    this.source = init.source;
    const batching = init.batching ?? resolveBatching(undefined, isBatchable(init.session.signature));
    this.lineage = init.lineage;
    this.monitoring = init.monitor;
    this.#session = init.session;
    this.#calibrationKey = init.calibrationKey;
    this.#limits = { maxRows: init.maxRows ?? DEFAULT_MAX_ROWS, allowNonFinite: init.allowNonFinite === true };
    this.#logger = init.logger;
    this.#outputNames = new Set(this.signature.outputs.map((o) => o.name));
    this.#telemetry = new ModelTelemetry(this.name, this.version, {
      inFlight: () => this.#inFlight,
      queueDepth: () => this.#batcher.queueDepth,
    });
    const session = init.session;
    this.#batcher = new Batcher(
      {
        concurrency: session.concurrency ?? 1,
        depth: session.pipelineDepth ?? 1,
        run: (feeds, outputs) => session.run(feeds, outputs ? { outputs } : {}),
      },
      batching,
      {
        timed: () => this.#telemetry.metricsEnabled,
        dispatched: (rows, waits) => this.#telemetry.dispatched(rows, waits),
        executed: (seconds) => this.#telemetry.executed(seconds),
        tuned: (stats) => this.#logger.debug(`${this.name}/${this.version} batching: ${stats.reason}`),
        unbatchable: (message) => this.#logger.warn(`${this.name}/${this.version}: ${message}`),
      },
    );
    this.#ready = this.#warm(init.warmup);
    // ready() may never be awaited; the failure is still reported through ready() and predict().
    this.#ready.catch(() => undefined);
  }

  get batching(): BatcherConfig {
    return this.#batcher.config;
  }

  get state(): ModelState {
    return this.#state;
  }

  stats(): ModelStats {
    return {
      inFlight: this.#inFlight,
      queueDepth: this.#batcher.queueDepth,
      running: this.#batcher.running,
      concurrency: this.#session.concurrency ?? 1,
      batching: this.#batcher.batchingStats(),
      ...(this.#session.executionStats ? { execution: this.#session.executionStats() } : {}),
    };
  }

  /** Reports what the backend says about its workers (crashes, restarts) in logs and metrics. */
  backendEvent(event: BackendEvent): void {
    if (event.type === 'worker-restarted') this.#telemetry.workerRestarted();
    logBackendEvent(this.#logger, this.name, this.version, event);
  }

  #warmupFeeds(warmup: CreateModelInit['warmup']): Record<string, TensorLike>[] {
    if (warmup === false) return [];
    if (warmup !== true)
      return [toFeeds(this.signature, warmup.inputs, { ...this.#limits, maxRows: Number.MAX_SAFE_INTEGER })];
    const sizes = this.batching.enabled ? [...new Set([1, ...this.batching.preferredBatchSizes])] : [1];
    const feeds = sizes.map((rows) => synthesizeInputs(this.signature, rows));
    if (feeds.some((f) => f === undefined)) {
      this.#logger.debug(
        `Warm-up of ${this.name}/${this.version} skipped: an input does not declare its shape. Pass warmup: { inputs } to warm it.`,
      );
      return [];
    }
    return feeds as Record<string, TensorLike>[];
  }

  async #warm(warmup: CreateModelInit['warmup']): Promise<void> {
    try {
      const feeds = this.#warmupFeeds(warmup);
      const run = async (): Promise<void> => {
        if (feeds.length === 0) return;
        if (this.#session.warmup) await this.#session.warmup(feeds);
        else for (const f of feeds) await this.#session.run(f);
      };
      if (warmup === true) {
        await run().catch((error: unknown) => {
          this.#logger.warn(
            `Warm-up of ${this.name}/${this.version} with synthesized inputs failed (${toModelshipError(error).message}); the model is served anyway. Pass warmup: { inputs } to warm it with real data, or warmup: false.`,
          );
        });
      } else {
        await run();
      }
      const sample = warmup === false ? false : (feeds[0] ?? synthesizeInputs(this.signature, 1));
      const tuner = this.#batcher.tuner;
      const key = this.#calibrationKey && `${this.#calibrationKey}|${this.#session.concurrency ?? 1}`;
      if (tuner) await calibrateOrReuse(tuner, (f) => this.#session.run(f), sample, key);
      if (feeds.length > 0) await this.#session.chooseExecution?.(feeds);
      if (this.#state === 'warming') this.#state = 'ready';
    } catch (error) {
      const failure = new ModelshipError(
        'MODEL_LOAD_FAILED',
        `Warm-up of ${this.name}/${this.version} failed: ${toModelshipError(error).message}`,
        { cause: error },
      );
      this.#failure = failure;
      this.#state = 'failed';
      this.#telemetry.close();
      await this.#session.release().catch(() => undefined);
      throw failure;
    }
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  predict(input: PredictInput, options: PredictOptions = NO_OPTIONS): Promise<PredictOutputs> {
    const state = this.#state;
    if (state !== 'ready' && state !== 'warming') return Promise.reject(this.#notServing());
    // Timestamps only when an SDK will record them (performance.now() is a measurable share of a tiny call).
    const timed = this.#telemetry.metricsEnabled;
    const started = timed ? performance.now() : 0;
    let feeds: Record<string, TensorLike>;
    try {
      feeds = toFeeds(this.signature, input, this.#limits);
      if (options.outputs) {
        // An empty list asks for every output, as over HTTP (and in Triton); the runtime would refuse it.
        if (options.outputs.length === 0) options = { ...options, outputs: undefined };
        else this.#checkOutputs(options.outputs);
      }
      if (options.deadlineMs !== undefined || options.priority !== undefined) checkPredictOptions(options);
    } catch (error) {
      const e = toModelshipError(error, 'INVALID_INPUT');
      if (timed) this.#telemetry.request((performance.now() - started) / 1000, e.code);
      return Promise.reject(e);
    }
    const spans = this.#telemetry.startRequestSpans();
    this.#inFlight++;
    const submitted = this.#batcher.submit(feeds, options, spans?.dispatched);
    if (this.monitoring !== undefined) watchPrediction(this.monitoring, submitted, feeds, options.requestId);
    // Without metrics or spans, the same two handlers serve every call: no closures made per call.
    if (!timed && !spans) return submitted.then(this.#answered, this.#failed);
    return submitted.then(
      (raw) => {
        if (timed) this.#telemetry.request((performance.now() - started) / 1000);
        spans?.end();
        return this.#answered(raw);
      },
      (error: unknown) => {
        const e = toModelshipError(error, 'INFERENCE_FAILED');
        if (timed) this.#telemetry.request((performance.now() - started) / 1000, e.code);
        spans?.end(e);
        return this.#failed(e);
      },
    );
  }

  /** The record a run resolves with belongs to this call alone, so its values are made `Tensor`s in place. */
  readonly #answered = (raw: Record<string, TensorLike>): PredictOutputs => {
    this.#inFlight--;
    for (const name in raw) {
      const t = raw[name] as TensorLike;
      if (!(t instanceof Tensor)) raw[name] = new Tensor(t.dtype, t.data, t.shape);
    }
    return raw as PredictOutputs;
  };

  readonly #failed = (error: unknown): never => {
    this.#inFlight--;
    throw toModelshipError(error, 'INFERENCE_FAILED');
  };

  feedback(requestId: string, label: number): FeedbackOutcome {
    return feedbackTo(this.name, [this.monitoring], requestId, label);
  }

  #checkOutputs(requested: readonly string[]): void {
    const unknown = requested.filter((n) => !this.#outputNames.has(n));
    if (unknown.length > 0) {
      const known = [...this.#outputNames];
      throw new ModelshipError(
        'INVALID_INPUT',
        `Unknown output ${unknown.map((n) => `"${n}"`).join(', ')}; the model has ${known.map((n) => `"${n}"`).join(', ')}.`,
        { details: { unknown, expected: known } },
      );
    }
  }

  #notServing(): ModelshipError {
    if (this.#failure) return this.#failure;
    return new ModelshipError(
      'NOT_READY',
      `Model ${this.name}/${this.version} is ${this.#state} and takes no new requests.`,
    );
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const wasFailed = this.#state === 'failed';
    this.#state = 'closing';
    await this.#ready.catch(() => undefined);
    // Everything accepted before close() is answered: queued requests still run, then the workers stop.
    await this.#batcher.drain();
    this.#batcher.close();
    if (!wasFailed && !this.#failure) await this.#session.release();
    this.#telemetry.close();
    this.monitoring?.close();
    this.#state = 'closed';
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Wraps a backend session as a served model and starts its warm-up. */
export function createModel(init: CreateModelInit): Model & {
  /** Reports what the backend says about its workers (crashes, restarts) in logs and metrics. */
  backendEvent(event: BackendEvent): void;
} {
  return new LoadedModel(init);
}
