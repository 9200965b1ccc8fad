import { stat } from 'node:fs/promises';
import type {
  BackendSession,
  BackendSessionOptions,
  ExecutionStats,
  ModelSource,
  RunOptions,
} from '../../spec/backend.js';
import type { TensorLike } from '../../spec/tensor.js';
import { loadOnnxRuntime } from './load-runtime.js';
import { sessionOnThisThread } from './this-thread-session.js';

/**
 * A lone run of a small model on the calling thread.
 *
 * Handing a run to a worker thread and back costs tens of microseconds, and the worker's session has only its
 * share of the cores (one intra-op thread each on two cores). For a model whose whole inference takes less
 * than that — a tabular classifier, a small MLP — a lone call is answered sooner by one more session on the
 * calling thread with onnxruntime's default threads, exactly as calling onnxruntime directly would: a 784→512
 * MLP ran in 34 µs there against 98 µs on one worker thread. The calling thread is blocked for the run, so only
 * models measured at or below {@link INLINE_MAX_MS} qualify, and only lone calls on an idle event loop take
 * that path; anything concurrent goes to the workers, where batching and the cores pay off.
 *
 * Whether a model qualifies is measured after warm-up, on its own warm-up inputs, against the worker round
 * trip measured the same way. The choice and the figures are in `model.stats().execution`.
 */

/** The longest inline run allowed: what the event loop may be blocked for by one lone call. */
export const INLINE_MAX_MS = 0.25;
/** Models bigger than this never get the extra session (it holds its own copy of the weights). */
export const INLINE_MAX_BYTES = 32 * 2 ** 20;
const PROBE_RUNS = 24;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

async function sourceBytes(source: ModelSource): Promise<number> {
  if ('bytes' in source) return source.bytes.byteLength;
  return (await stat(source.path)).size;
}

/** Times `PROBE_RUNS` sequential runs of the first feed set; the median in ms. */
async function timeRuns(run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < PROBE_RUNS; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return median(times);
}

/** The extra session for lone calls, once a model has qualified. */
export class InlineRunner {
  readonly #session: BackendSession;
  #busy = false;

  private constructor(session: BackendSession) {
    this.#session = session;
  }

  /** True while a run is in progress (a second call goes to the workers). */
  get busy(): boolean {
    return this.#busy;
  }

  /**
   * Decides whether `source` qualifies, by measurement (see the module comment); `timeWorker` runs one lone
   * call through the pool. Never throws: a model that cannot be opened here simply stays on the workers.
   */
  static async probe(
    source: ModelSource,
    options: BackendSessionOptions,
    feeds: ReadonlyArray<Readonly<Record<string, TensorLike>>>,
    timeWorker: (feeds: Readonly<Record<string, TensorLike>>) => Promise<unknown>,
  ): Promise<{ runner?: InlineRunner; stats: ExecutionStats }> {
    const first = feeds[0];
    if (options.inline === false) return { stats: { inline: false, reason: 'inline: false was set.' } };
    if (options.executionProviders?.some((p) => p !== 'cpu'))
      return { stats: { inline: false, reason: 'An accelerator runs the model; calls stay on the workers.' } };
    if (first === undefined) return { stats: { inline: false, reason: 'No warm-up inputs to measure with.' } };
    const bytes = await sourceBytes(source).catch(() => Infinity);
    if (bytes > INLINE_MAX_BYTES)
      return {
        stats: {
          inline: false,
          reason: `The model is over ${INLINE_MAX_BYTES / 2 ** 20} MiB; a second copy of its weights is not worth a lone call's microseconds.`,
        },
      };
    let session: BackendSession;
    try {
      const { intraOpNumThreads: _threads, workers: _workers, ...rest } = options;
      session = await sessionOnThisThread(await loadOnnxRuntime(), source, { ...rest, workers: 0 });
    } catch {
      return { stats: { inline: false, reason: 'The model could not be opened on the calling thread.' } };
    }
    try {
      for (const f of feeds) await session.run(f);
      const inlineMs = await timeRuns(() => session.run(first));
      const workerMs = await timeRuns(() => timeWorker(first));
      const figures = `one run takes ${inlineMs.toFixed(3)} ms on the calling thread and ${workerMs.toFixed(3)} ms through a worker`;
      if (inlineMs <= INLINE_MAX_MS && inlineMs < workerMs)
        return {
          runner: new InlineRunner(session),
          stats: { inline: true, inlineMs, workerMs, reason: `Lone calls run on the calling thread: ${figures}.` },
        };
      await session.release();
      const why =
        inlineMs > INLINE_MAX_MS
          ? `over the ${INLINE_MAX_MS} ms the event loop may be blocked`
          : 'the worker is as fast';
      return { stats: { inline: false, inlineMs, workerMs, reason: `Calls stay on the workers: ${figures}, ${why}.` } };
    } catch {
      await session.release().catch(() => undefined);
      return {
        stats: { inline: false, reason: 'A warm-up run failed on the calling thread; calls stay on the workers.' },
      };
    }
  }

  async run(feeds: Readonly<Record<string, TensorLike>>, options: RunOptions): Promise<Record<string, TensorLike>> {
    this.#busy = true;
    try {
      return await this.#session.run(feeds, options);
    } finally {
      this.#busy = false;
    }
  }

  release(): Promise<void> {
    return this.#session.release();
  }
}
