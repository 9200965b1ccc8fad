/**
 * Properties of batch assembly: requests joined along dimension 0 and split again each get back exactly their
 * own rows — whatever their row counts, dtypes and trailing shape, with fresh or reused batch memory.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  batchKey,
  concatFeeds,
  outputsSplittable,
  releaseFeeds,
  sliceFeeds,
  sliceRows,
} from '../../src/serving/batching/assemble.js';
import { BatchBuffers } from '../../src/serving/batching/batch-buffers.js';
import { Batcher } from '../../src/serving/batching/batcher.js';
import type { BatchExecutor } from '../../src/serving/batching/batcher-types.js';
import type { DType, TensorLike } from '../../src/spec/tensor.js';
import { ALL_DTYPES, element, expectedStorage } from './arbitraries.js';

type Feeds = Record<string, TensorLike>;

/** Several requests with the same inputs (names, dtypes, trailing dims) and their own row counts and values. */
const requests = fc
  .record({
    inputs: fc.uniqueArray(
      fc.record({
        name: fc.constantFrom('a', 'b', 'c', 'data'),
        dtype: fc.constantFrom(...ALL_DTYPES),
        tail: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
      }),
      {
        minLength: 1,
        maxLength: 3,
        selector: (i) => i.name,
      },
    ),
    rows: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 6 }),
  })
  .chain(({ inputs, rows }) =>
    fc.tuple(
      ...rows.map((r) =>
        fc
          .tuple(
            ...inputs.map((i) => {
              const count = r * i.tail.reduce((a, b) => a * b, 1);
              return fc
                .array(element(i.dtype), { minLength: count, maxLength: count })
                .map((flat) => ({ name: i.name, tensor: tensorOf(i.dtype, [r, ...i.tail], flat) }));
            }),
          )
          .map((entries) => Object.fromEntries(entries.map((e) => [e.name, e.tensor])) as Feeds),
      ),
    ),
  );

function tensorOf(dtype: DType, shape: number[], flat: unknown[]): TensorLike {
  return { dtype, shape, data: expectedStorage(dtype, flat) };
}

function rowsOf(feeds: Feeds): number {
  return (Object.values(feeds)[0] as TensorLike).shape[0] as number;
}

function expectSame(actual: Feeds, expected: Feeds): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const name in expected) {
    expect(actual[name]?.shape).toEqual(expected[name]?.shape);
    expect(actual[name]?.dtype).toBe(expected[name]?.dtype);
    expect(Array.from(actual[name]?.data as ArrayLike<unknown>)).toEqual(
      Array.from(expected[name]?.data as ArrayLike<unknown>),
    );
  }
}

describe('batch assembly properties', () => {
  it('requests that agree on their trailing dimensions share one batch key, with their own row counts', () => {
    fc.assert(
      fc.property(requests, (parts) => {
        const keys = parts.map((p) => batchKey(p, undefined));
        for (const [i, k] of keys.entries()) expect(k?.rows).toBe(rowsOf(parts[i] as Feeds));
        expect(new Set(keys.map((k) => k?.key)).size).toBe(1);
        expect(batchKey(parts[0] as Feeds, ['y'])?.key).not.toBe(keys[0]?.key);
      }),
      { numRuns: 200 },
    );
  });

  it('requests asking for different outputs never share a batch key (names may hold "," or "|")', () => {
    const outputs = fc.option(
      fc.array(fc.oneof(fc.constantFrom('y', 'label', 'y,label', ',', '|', 'y|', ''), fc.string({ maxLength: 3 })), {
        maxLength: 3,
      }),
      { nil: undefined },
    );
    fc.assert(
      fc.property(requests, outputs, outputs, (parts, a, b) => {
        fc.pre(JSON.stringify(a) !== JSON.stringify(b));
        expect(batchKey(parts[0] as Feeds, a)?.key).not.toBe(batchKey(parts[0] as Feeds, b)?.key);
      }),
      { numRuns: 300 },
    );
  });

  it('concatenating then slicing gives every request back its own rows', () => {
    fc.assert(
      fc.property(requests, fc.boolean(), (parts, reuse) => {
        const total = parts.reduce((n, p) => n + rowsOf(p), 0);
        const buffers = reuse ? new BatchBuffers(2) : undefined;
        // Dirty memory first: a reused buffer must be fully overwritten, not merely zeroed.
        if (buffers)
          releaseFeeds(
            concatFeeds(
              parts.map((p) => fillWithJunk(p)),
              total,
              buffers,
              total + 3,
            ),
            buffers,
          );
        const joined = concatFeeds(parts, total, buffers, total + 3);
        expect(rowsOf(joined)).toBe(total);
        expect(outputsSplittable(joined, total)).toBe(true);
        let offset = 0;
        for (const p of parts) {
          const rows = rowsOf(p);
          expectSame(sliceFeeds(joined, offset, rows), p);
          for (const name in p)
            expectSame(
              { [name]: sliceRows(joined[name] as TensorLike, offset, rows) },
              { [name]: p[name] as TensorLike },
            );
          offset += rows;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a request cut into parts and joined again is the request', () => {
    fc.assert(
      fc.property(requests, fc.integer({ min: 1, max: 4 }), (parts, max) => {
        const whole = parts[0] as Feeds;
        const rows = rowsOf(whole);
        const pieces: Feeds[] = [];
        for (let start = 0; start < rows; start += max)
          pieces.push(sliceFeeds(whole, start, Math.min(max, rows - start)));
        if (pieces.length === 0) return;
        expectSame(concatFeeds(pieces, rows), whole);
      }),
      { numRuns: 200 },
    );
  });

  it('outputs whose batch dimension changed are never split', () => {
    fc.assert(
      fc.property(requests, fc.integer({ min: 1, max: 3 }), (parts, delta) => {
        const total = parts.reduce((n, p) => n + rowsOf(p), 0);
        expect(outputsSplittable(concatFeeds(parts, total), total + delta)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });
});

/** Holds the first batch until released, then answers at once; every output asked for is the batch's input. */
class HeldExecutor implements BatchExecutor {
  readonly concurrency = 1;
  readonly runs: (readonly string[] | undefined)[] = [];
  #held: (() => void) | undefined;
  #onFirst: () => void = () => undefined;
  readonly firstStarted: Promise<void>;

  constructor() {
    this.firstStarted = new Promise<void>((r) => (this.#onFirst = r));
  }

  run(feeds: Readonly<Feeds>, outputs: readonly string[] | undefined): Promise<Feeds> {
    const x = feeds.x as TensorLike;
    this.runs.push(outputs);
    const answer = (): Feeds => Object.fromEntries((outputs ?? ['y']).map((n) => [n, x]));
    if (this.runs.length > 1) return Promise.resolve(answer());
    this.#onFirst();
    return new Promise((resolve) => (this.#held = () => resolve(answer())));
  }

  release(): void {
    this.#held?.();
  }
}

describe('Batcher output selection', () => {
  it('runs requests for ["y,label"], ["y", "label"], [] and all outputs in separate batches, each with its own selection', async () => {
    const exec = new HeldExecutor();
    const batcher = new Batcher(exec, {
      enabled: true,
      maxBatchSize: 8,
      maxQueueDelayMs: 0,
      preferredBatchSizes: [],
      maxQueueSize: 10,
    });
    const row = (): Feeds => ({ x: { dtype: 'float32', shape: [1, 2], data: new Float32Array([1, 2]) } });
    const blocker = batcher.submit(row());
    await exec.firstStarted;
    const selections = [['y,label'], ['y', 'label'], [], undefined];
    // Queued together while the worker is busy: only their output selections keep them apart.
    const pending = selections.map((outputs) => batcher.submit(row(), { outputs }));
    exec.release();
    const outs = await Promise.all([blocker, ...pending]);
    expect(exec.runs.slice(1)).toEqual(selections);
    expect(outs.slice(1).map((o) => Object.keys(o))).toEqual([['y,label'], ['y', 'label'], [], ['y']]);
  });
});

/** The same tensors with every value replaced, to leave stale data in pooled memory. */
function fillWithJunk(feeds: Feeds): Feeds {
  const out: Feeds = {};
  for (const name in feeds) {
    const t = feeds[name] as TensorLike;
    const big = t.data instanceof BigInt64Array || t.data instanceof BigUint64Array;
    const data = Array.isArray(t.data)
      ? t.data.map(() => 'junk')
      : (t.data as Uint8Array).slice().fill(big ? (7n as never) : 7);
    out[name] = { ...t, data: data as TensorLike['data'] };
  }
  return out;
}
