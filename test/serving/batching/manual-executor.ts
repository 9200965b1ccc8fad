/**
 * An executor the test releases by hand, with its calls counted per slot (worker), so dispatch decisions can be
 * checked without timing. The model computes y = x * 10, so a request answered with another's rows is caught.
 */
import type { BatchExecutor, BatcherConfig } from '../../../src/serving/batching/index.js';
import type { TensorLike } from '../../../src/spec/tensor.js';

export type Feeds = Readonly<Record<string, TensorLike>>;

export interface Call {
  readonly rows: number;
  /** The slot (worker) that ran it: the lowest free one, as a pool hands out idle workers. */
  readonly slot: number;
  release(): void;
}

export class ManualExecutor implements BatchExecutor {
  readonly calls: Call[] = [];
  readonly #busy: boolean[];
  #waiters: (() => void)[] = [];

  constructor(readonly concurrency = 2) {
    this.#busy = Array.from({ length: concurrency }, () => false);
  }

  run(feeds: Feeds): Promise<Record<string, TensorLike>> {
    const slot = this.#busy.indexOf(false);
    if (slot < 0) throw new Error('the batcher ran more batches at once than the executor has slots');
    this.#busy[slot] = true;
    return new Promise((resolve) => {
      const x = feeds.x as TensorLike;
      this.calls.push({
        rows: x.shape[0] as number,
        slot,
        release: () => {
          this.#busy[slot] = false;
          resolve({
            y: {
              dtype: 'float32',
              shape: [...x.shape],
              data: Float32Array.from(x.data as Float32Array, (v) => v * 10),
            },
          });
        },
      });
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** Resolves once `n` runs have started. */
  async started(n: number): Promise<Call[]> {
    while (this.calls.length < n) await new Promise<void>((r) => this.#waiters.push(r));
    return this.calls.slice(0, n);
  }

  /** Runs per slot so far. */
  perSlot(): number[] {
    const counts = Array.from({ length: this.concurrency }, () => 0);
    for (const c of this.calls) counts[c.slot]!++;
    return counts;
  }
}

/** A one-row request whose value identifies it. */
export function row(r: number): Feeds {
  return { x: { dtype: 'float32', shape: [1, 2], data: Float32Array.of(r, r + 0.5) } };
}

export const config = (over: Partial<BatcherConfig> = {}): BatcherConfig => ({
  enabled: true,
  maxBatchSize: 8,
  maxQueueDelayMs: 0,
  preferredBatchSizes: [],
  maxQueueSize: 100,
  ...over,
});

/** Lets queued microtasks and immediates run (the batcher dispatches in a microtask). */
export const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
