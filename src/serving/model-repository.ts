import { ModelshipError, toModelshipError } from '../errors/index.js';
import { recordRepositoryEvent } from '../telemetry/repository-metrics.js';
import { RepositoryEntry, type EntryOwner, type RepositoryModelState } from './model-repository-entry.js';
import {
  parseModelRepositoryOptions,
  type ModelRepositoryOptions,
  type RepositoryModel,
} from './model-repository-options.js';
import type { Servable } from './servable.js';

export type { ModelRepositoryOptions, RepositoryLoader, RepositoryModel } from './model-repository-options.js';
export type { RepositoryModelState } from './model-repository-entry.js';

/** One row of the repository index, in Triton's shape (`POST /v2/repository/index`). */
export interface RepositoryIndexEntry {
  readonly name: string;
  /** The loaded (or last loaded) version; absent before the first load. */
  readonly version?: string;
  readonly state: RepositoryModelState;
  /** Why the model is in its state: `unloaded`, the failed load's error code, or empty. */
  readonly reason: string;
}

/** Events a repository emits, by name. */
export interface RepositoryEvents {
  /** A model finished loading. `evicted` lists the models unloaded to make room for it. */
  load: { name: string; version: string; bytes: number };
  /** A model was unloaded: `evicted` (least recently used, to stay in budget), `requested` or `closed`. */
  unload: { name: string; version: string; reason: 'evicted' | 'requested' | 'closed' };
  /** A load failed; the other models keep serving. */
  'load-failed': { name: string; error: ModelshipError };
}

/** Counters and the budget's use, as `repository.stats()` reports them. */
export interface RepositoryStats {
  readonly loadedModels: number;
  readonly loadedBytes: number;
  readonly maxLoadedModels: number | undefined;
  readonly maxLoadedBytes: number | undefined;
  readonly loads: number;
  readonly unloads: number;
  readonly evictions: number;
  readonly loadFailures: number;
}

/** Many models in one process within a memory budget: see {@link createModelRepository}. */
export interface ModelRepository extends AsyncDisposable {
  /** One servable per registered model, for `createHandler({ models: repository.models })`. */
  readonly models: Servable[];
  /** Loads `name` (evicting idle least-recently-used models if the budget needs it); no-op when loaded. */
  load(name: string): Promise<void>;
  /** Unloads `name` after its in-flight requests finish; false when it was not loaded. */
  unload(name: string): Promise<boolean>;
  /** Every registered model and its state (`ready: true`: only the loaded ones). */
  index(options?: { ready?: boolean }): RepositoryIndexEntry[];
  /** Loads, unloads, evictions and failures so far, and how much of the budget the loaded models use. */
  stats(): RepositoryStats;
  /** Subscribes to `load`, `unload` and `load-failed`; returns the unsubscribe function. */
  on<K extends keyof RepositoryEvents>(event: K, listener: (e: RepositoryEvents[K]) => void): () => void;
  /** Unloads every model, each after its in-flight requests. */
  close(): Promise<void>;
}

const REPOSITORY = Symbol.for('modelship.repository');

/** The repository a servable belongs to, if it came from `repository.models`. */
export function repositoryOf(model: Servable): ModelRepository | undefined {
  return (model as { [REPOSITORY]?: ModelRepository })[REPOSITORY];
}

/**
 * Serves many models from one process within a memory budget (Triton's model control, with LRU eviction):
 * models load lazily on their first request, and when `maxLoadedModels` or `maxLoadedBytes` would be exceeded
 * the least recently used models with no request in flight are unloaded. A model in use is never unloaded; if
 * every loaded model is in use, a load fails with a retryable `SERVER_BUSY`. A failed load affects only its model.
 * Loads run in the background (the model's file is read and its session built off the event loop), so the other
 * models keep answering. With `createHandler({ admin })`, Triton's repository extension controls it over HTTP.
 *
 * @example
 * ```ts
 * const repository = createModelRepository({
 *   models: { mnist: './mnist.onnx', iris: './iris.onnx', fraud: 'fraud@production' },
 *   load: (ref) => loadModel(ref),
 *   maxLoadedModels: 2,
 * });
 * repository.on('unload', (e) => console.log(`${e.name} unloaded (${e.reason})`));
 * const handler = createHandler({ models: repository.models, admin: { token: process.env.ADMIN_TOKEN! } });
 * ```
 */
export function createModelRepository(options: ModelRepositoryOptions): ModelRepository {
  const opts = parseModelRepositoryOptions(options);
  const listeners = new Map<string, Set<(e: never) => void>>();
  const counts = { loads: 0, unloads: 0, evictions: 0, loadFailures: 0 };
  let clock = 0;
  let closed = false;

  const emit = <K extends keyof RepositoryEvents>(event: K, payload: RepositoryEvents[K]): void => {
    for (const l of listeners.get(event) ?? []) (l as (e: RepositoryEvents[K]) => void)(payload);
  };
  // A slot is held from the moment a load starts until its unload starts, so concurrent loads cannot overshoot.
  const holding = (e: RepositoryEntry): boolean => e.repoState === 'READY' || e.repoState === 'LOADING';
  const held = (): RepositoryEntry[] => [...entries.values()].filter(holding);
  const heldBytes = (): number => held().reduce((sum, e) => sum + e.bytes, 0);
  const overBudget = (extraModels: number, extraBytes: number): boolean =>
    (opts.maxLoadedModels !== undefined && held().length + extraModels > opts.maxLoadedModels) ||
    (opts.maxLoadedBytes !== undefined && heldBytes() + extraBytes > opts.maxLoadedBytes);
  const victim = (except: RepositoryEntry | undefined): RepositoryEntry | undefined => {
    let best: RepositoryEntry | undefined;
    for (const e of entries.values()) {
      if (e === except || e.repoState !== 'READY' || e.inFlight > 0) continue;
      if (best === undefined || e.lastUsed < best.lastUsed) best = e;
    }
    return best;
  };

  const serial = <T>(e: RepositoryEntry, fn: () => Promise<T>): Promise<T> => {
    const run = e.tail.then(fn, fn);
    e.tail = run.catch(() => undefined);
    return run;
  };

  /**
   * Starts unloading `e` now: its slot is freed at once (new requests load it again), and its model closes once
   * its in-flight requests finish. A later load of `e` waits for that close (`e.closing`).
   */
  const release = (e: RepositoryEntry, reason: 'evicted' | 'requested' | 'closed'): Promise<void> => {
    const model = e.model as RepositoryModel;
    e.model = undefined;
    e.repoState = 'UNLOADING';
    const closing = model.close().finally(() => {
      if (e.closing === closing) e.closing = undefined;
      if (e.repoState === 'UNLOADING') {
        e.repoState = 'UNAVAILABLE';
        e.reason = 'unloaded';
      }
      counts.unloads++;
      if (reason === 'evicted') counts.evictions++;
      recordRepositoryEvent(e.name, reason === 'evicted' ? 'evict' : 'unload');
      emit('unload', { name: e.name, version: model.version, reason });
    });
    e.closing = closing;
    return closing;
  };

  /** Evicts idle LRU models until `fits()`; false if it still does not fit (every other model in use). */
  const makeRoom = async (fits: () => boolean, except: RepositoryEntry | undefined): Promise<boolean> => {
    const closing: Promise<void>[] = [];
    while (!fits()) {
      const v = victim(except);
      if (v === undefined) break;
      closing.push(release(v, 'evicted'));
    }
    await Promise.all(closing);
    return fits();
  };

  const doLoad = async (e: RepositoryEntry): Promise<RepositoryModel> => {
    if (closed) throw new ModelshipError('NOT_READY', `The model repository is closed; ${e.name} is not loaded.`);
    if (e.model !== undefined) return e.model;
    // The same model's previous session must be gone before a new one takes its memory.
    if (e.closing !== undefined) await e.closing.catch(() => undefined);
    // The check that fits and the reservation (LOADING) happen in one synchronous step, so concurrent loads of
    // other models, which also wait on evictions, cannot both take the last slot.
    // A model never loaded has no known size yet: assume it as big as the biggest one seen, so that the room is
    // made before its load rather than after.
    const estimate = (): number => e.bytes || Math.max(0, ...[...entries.values()].map((x) => x.bytes));
    while (overBudget(1, estimate())) {
      if (victim(e) === undefined) {
        throw new ModelshipError(
          'SERVER_BUSY',
          `Model ${e.name} cannot be loaded now: the loaded models fill the budget and are all answering requests. Retry shortly, or raise maxLoadedModels / maxLoadedBytes.`,
        );
      }
      await makeRoom(() => !overBudget(1, estimate()), e);
      if (closed) throw new ModelshipError('NOT_READY', `The model repository is closed; ${e.name} is not loaded.`);
    }
    e.repoState = 'LOADING';
    e.reason = '';
    let model: RepositoryModel;
    try {
      model = await opts.load(e.ref);
      await model.ready();
    } catch (error) {
      const err = toModelshipError(error, 'MODEL_LOAD_FAILED');
      e.repoState = 'UNAVAILABLE';
      e.reason = err.code;
      counts.loadFailures++;
      recordRepositoryEvent(e.name, 'load_failed');
      emit('load-failed', { name: e.name, error: err });
      throw err;
    }
    if (closed) {
      e.repoState = 'UNAVAILABLE';
      await model.close();
      throw new ModelshipError('NOT_READY', `The model repository closed while ${e.name} was loading.`);
    }
    e.loaded(model);
    e.repoState = 'READY';
    e.lastUsed = ++clock;
    counts.loads++;
    // Its size is known only now: others idle may have to go (in-use ones go when they become idle).
    await makeRoom(() => !overBudget(0, 0), e);
    recordRepositoryEvent(e.name, 'load');
    emit('load', { name: e.name, version: model.version, bytes: e.bytes });
    return model;
  };

  const owner: EntryOwner & { tick(): number } = {
    tick: () => ++clock,
    get closed() {
      return closed;
    },
    acquire: (e) => (e.model !== undefined ? Promise.resolve(e.model) : serial(e, () => doLoad(e))),
    idle: () => {
      if (overBudget(0, 0)) void makeRoom(() => !overBudget(0, 0), undefined);
    },
    unload: (e, reason) =>
      serial(e, async () => {
        if (e.model === undefined) return false;
        await release(e, reason);
        return true;
      }),
  };

  const entries = new Map<string, RepositoryEntry>(
    Object.entries(opts.models).map(([name, ref]) => [name, new RepositoryEntry(name, ref, owner)]),
  );
  for (const e of entries.values()) Object.defineProperty(e, REPOSITORY, { get: () => repository });

  const entry = (name: string, verb: 'load' | 'unload'): RepositoryEntry => {
    const e = Object.hasOwn(opts.models, name) ? entries.get(name) : undefined;
    if (e === undefined) {
      const shown = name.length > 64 ? `${name.slice(0, 64)}…` : name;
      throw new ModelshipError(
        'MODEL_NOT_FOUND',
        // Triton's words for a model its repository does not have; the index lists those it has.
        `failed to ${verb} '${shown}', failed to poll from model repository (POST /v2/repository/index lists the models)`,
      );
    }
    return e;
  };

  const repository: ModelRepository = {
    models: [...entries.values()],
    load: async (name) => {
      await owner.acquire(entry(name, 'load'));
    },
    unload: async (name) => owner.unload(entry(name, 'unload'), 'requested'),
    index: ({ ready = false } = {}) =>
      [...entries.values()]
        .filter((e) => !ready || e.repoState === 'READY')
        .map((e) => ({
          name: e.name,
          ...(e.model !== undefined || e.reason === 'unloaded' ? { version: e.version } : {}),
          state: e.repoState,
          reason: e.reason,
        })),
    stats: () => ({
      loadedModels: [...entries.values()].filter((e) => e.repoState === 'READY').length,
      loadedBytes: [...entries.values()].filter((e) => e.repoState === 'READY').reduce((s, e) => s + e.bytes, 0),
      maxLoadedModels: opts.maxLoadedModels,
      maxLoadedBytes: opts.maxLoadedBytes,
      ...counts,
    }),
    on: (event, listener) => {
      const set = listeners.get(event) ?? new Set();
      set.add(listener as (e: never) => void);
      listeners.set(event, set);
      return () => set.delete(listener as (e: never) => void);
    },
    close: async () => {
      closed = true;
      await Promise.all([...entries.values()].map((e) => owner.unload(e, 'closed')));
    },
    [Symbol.asyncDispose]: () => repository.close(),
  };
  for (const name of opts.preload ?? []) void repository.load(name).catch(() => undefined);
  return repository;
}
