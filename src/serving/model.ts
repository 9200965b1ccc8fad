import { DEFAULT_MAX_ROWS, toFeeds, type PredictInput } from '../core/input.js';
import { allocate, elementCount } from '../core/dtype.js';
import { Tensor } from '../core/tensor.js';
import { ModelshipError, toModelshipError } from '../errors/index.js';
import type { BackendSession } from '../spec/backend.js';
import type { ModelLineage } from '../spec/lineage.js';
import type { ModelSignature, TensorLike } from '../spec/tensor.js';
import type { Logger } from './logger.js';
import type { ModelState, PredictOptions, PredictOutputs, ServableModel } from './servable.js';

/** Where a loaded model came from. */
export interface ModelSourceInfo {
  /** The reference passed to `loadModel` (a registry ref or a path). */
  readonly ref: string;
  /** The registry kind that resolved it (`local`, `mlflow`…), if any. */
  readonly registry?: string;
  /** Aliases pointing at this version when it was resolved. */
  readonly aliases?: readonly string[];
}

/** A model loaded into a backend and ready (or getting ready) to serve. Create it with `loadModel`. */
export interface Model extends ServableModel, AsyncDisposable {
  /** Lower-case hex sha256 of the model file that was verified and loaded. */
  readonly sha256: string;
  /** Size of the model file in bytes. */
  readonly size: number;
  readonly source: ModelSourceInfo;
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
  readonly warmup: boolean | { inputs: unknown };
  readonly logger: Logger;
}

/** Inputs of batch size 1 synthesized from the signature, or undefined when a rank is unknown. */
function synthesizeInputs(signature: ModelSignature): Record<string, TensorLike> | undefined {
  const feeds: Record<string, TensorLike> = {};
  for (const spec of signature.inputs) {
    if (spec.shape === null) return undefined;
    const shape = spec.shape.map((d) => d ?? 1);
    feeds[spec.name] = { dtype: spec.dtype, shape, data: allocate(spec.dtype, elementCount(shape)) };
  }
  return feeds;
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
  #state: ModelState = 'warming';
  readonly #session: BackendSession;
  readonly #maxRows: number;
  readonly #logger: Logger;
  readonly #inflight = new Set<Promise<unknown>>();
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
    this.lineage = init.lineage;
    this.#session = init.session;
    this.#maxRows = init.maxRows ?? DEFAULT_MAX_ROWS;
    this.#logger = init.logger;
    this.#ready = this.#warm(init.warmup);
    // ready() may never be awaited; the failure is still reported through ready() and predict().
    this.#ready.catch(() => undefined);
  }

  get state(): ModelState {
    return this.#state;
  }

  async #warm(warmup: CreateModelInit['warmup']): Promise<void> {
    try {
      if (warmup === true) {
        const feeds = synthesizeInputs(this.signature);
        if (!feeds) {
          this.#logger.debug(`Warm-up of ${this.name}/${this.version} skipped: an input does not declare its shape. Pass warmup: { inputs } to warm it.`);
        } else {
          await this.#session.run(feeds).catch((error: unknown) => {
            this.#logger.warn(
              `Warm-up of ${this.name}/${this.version} with synthesized inputs failed (${toModelshipError(error).message}); the model is served anyway. Pass warmup: { inputs } to warm it with real data, or warmup: false.`,
            );
          });
        }
      } else if (warmup !== false) {
        const feeds = toFeeds(this.signature, warmup.inputs, { maxRows: Number.MAX_SAFE_INTEGER });
        await this.#session.run(feeds);
      }
      if (this.#state === 'warming') this.#state = 'ready';
    } catch (error) {
      const failure = new ModelshipError(
        'MODEL_LOAD_FAILED',
        `Warm-up of ${this.name}/${this.version} failed: ${toModelshipError(error).message}`,
        { cause: error },
      );
      this.#failure = failure;
      this.#state = 'failed';
      await this.#session.release().catch(() => undefined);
      throw failure;
    }
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  predict(input: PredictInput, options: PredictOptions = {}): Promise<PredictOutputs> {
    if (this.#state === 'closing' || this.#state === 'closed' || this.#state === 'failed') {
      return Promise.reject(this.#notServing());
    }
    const call = this.#predict(input, options);
    this.#inflight.add(call);
    const done = (): void => {
      this.#inflight.delete(call);
    };
    call.then(done, done);
    return call;
  }

  async #predict(input: PredictInput, options: PredictOptions): Promise<PredictOutputs> {
    const feeds = toFeeds(this.signature, input, { maxRows: this.#maxRows });
    if (options.outputs) this.#checkOutputs(options.outputs);
    try {
      options.signal?.throwIfAborted();
      const raw = await this.#session.run(feeds, options);
      const out: PredictOutputs = {};
      for (const [name, t] of Object.entries(raw)) out[name] = Tensor.from(t);
      return out;
    } catch (error) {
      throw toModelshipError(error, 'INFERENCE_FAILED');
    }
  }

  #checkOutputs(requested: readonly string[]): void {
    const known = this.signature.outputs.map((o) => o.name);
    const unknown = requested.filter((n) => !known.includes(n));
    if (unknown.length > 0) {
      throw new ModelshipError(
        'INVALID_INPUT',
        `Unknown output ${unknown.map((n) => `"${n}"`).join(', ')}; the model has ${known.map((n) => `"${n}"`).join(', ')}.`,
        { details: { unknown, expected: known } },
      );
    }
  }

  #notServing(): ModelshipError {
    if (this.#failure) return this.#failure;
    return new ModelshipError('NOT_READY', `Model ${this.name}/${this.version} is ${this.#state} and takes no new requests.`);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const wasFailed = this.#state === 'failed';
    this.#state = 'closing';
    await this.#ready.catch(() => undefined);
    await Promise.allSettled([...this.#inflight]);
    if (!wasFailed && !this.#failure) await this.#session.release();
    this.#state = 'closed';
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Wraps a backend session as a served model and starts its warm-up. */
export function createModel(init: CreateModelInit): Model {
  return new LoadedModel(init);
}
