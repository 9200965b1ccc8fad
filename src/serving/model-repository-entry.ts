import type { PredictInput } from '../core/input.js';
import type { ModelSignature } from '../spec/tensor.js';
import type { RepositoryModel } from './model-repository-options.js';
import type { ModelState, PredictOptions, PredictOutputs, ServableModel } from './servable.js';

/** Triton's model states, as the repository index reports them. */
export type RepositoryModelState = 'UNAVAILABLE' | 'LOADING' | 'READY' | 'UNLOADING';

/** What an entry needs from its repository. */
export interface EntryOwner {
  /** Loads the entry's model (within the budget) unless it is loaded; resolves with it. */
  acquire(entry: RepositoryEntry): Promise<RepositoryModel>;
  /** Called when the entry's last in-flight request finished: a model over the budget may now be unloaded. */
  idle(entry: RepositoryEntry): void;
  /** Unloads the entry (its in-flight requests finish first). */
  unload(entry: RepositoryEntry, reason: 'requested' | 'closed'): Promise<boolean>;
  readonly closed: boolean;
}

const NO_SIGNATURE: ModelSignature = { inputs: [], outputs: [] };

/**
 * One model of a repository, served like a loaded model: `predict` loads it on first use and counts the
 * requests in flight, which the repository never unloads under (an in-use model is never evicted).
 * Before its first load the signature is empty and the version is `"1"` (Triton's default version).
 */
export class RepositoryEntry implements ServableModel {
  /** The loaded model, or undefined (never loaded, unloaded, or being loaded). */
  model: RepositoryModel | undefined;
  repoState: RepositoryModelState = 'UNAVAILABLE';
  /** Why the model is in its state: `unloaded`, or the failed load's error code. */
  reason = '';
  inFlight = 0;
  /** Monotonic use counter of the last request (LRU order). */
  lastUsed = 0;
  /** Bytes of the model's file, from its last load (0 before the first). */
  bytes = 0;
  /** The close of the model last unloaded, while it runs. */
  closing: Promise<void> | undefined;
  /** Serializes this entry's loads and unloads. */
  tail: Promise<unknown> = Promise.resolve();
  #lastSignature: ModelSignature = NO_SIGNATURE;
  #lastVersion = '1';
  readonly #release = (): void => {
    if (--this.inFlight === 0) this.owner.idle(this);
  };

  constructor(
    readonly name: string,
    readonly ref: string,
    private readonly owner: EntryOwner & { tick(): number },
  ) {}

  get version(): string {
    return this.model?.version ?? this.#lastVersion;
  }
  get signature(): ModelSignature {
    return this.model?.signature ?? this.#lastSignature;
  }
  get platform(): string {
    return this.model?.platform ?? 'onnxruntime_onnx';
  }
  get metadata(): Readonly<Record<string, unknown>> {
    return this.model?.metadata ?? {};
  }
  /** `ready` while it can answer (loaded, or loadable on demand); `closed` once the repository is closed. */
  get state(): ModelState {
    return this.owner.closed ? 'closed' : (this.model?.state ?? 'ready');
  }

  /** Remembers what the loaded model looks like, so that metadata stays answerable after an unload. */
  loaded(model: RepositoryModel): void {
    this.model = model;
    this.#lastSignature = model.signature;
    this.#lastVersion = model.version;
    this.bytes = model.size ?? 0;
  }

  predict(input: PredictInput, options?: PredictOptions): Promise<PredictOutputs> {
    const model = this.model;
    if (model !== undefined) return this.#run(model, input, options);
    return this.owner.acquire(this).then((m) => this.#run(m, input, options));
  }

  #run(model: RepositoryModel, input: PredictInput, options: PredictOptions | undefined): Promise<PredictOutputs> {
    // Counted synchronously with the model read above, so an eviction deciding in the same tick sees it in use.
    this.inFlight++;
    this.lastUsed = this.owner.tick();
    let answer: Promise<PredictOutputs>;
    try {
      answer = model.predict(input, options);
    } catch (error) {
      this.#release();
      throw error;
    }
    return answer.finally(this.#release);
  }

  async ready(): Promise<void> {
    const model = await this.owner.acquire(this);
    await model.ready();
  }

  async close(): Promise<void> {
    await this.owner.unload(this, 'closed');
  }
}
