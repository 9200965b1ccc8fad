import type { TensorLike } from '../../spec/tensor.js';
import type { AbortWatched } from './abort-watchers.js';
import { concatFeeds, sliceFeeds } from './assemble.js';
import type { Feeds, Outputs } from './batcher-types.js';
import type { Priority } from './request-queue.js';

/** What the batcher queues: a whole request, or one part of a request bigger than `maxBatchSize`. */
export interface Entry {
  dequeued: boolean;
  readonly priority: Priority;
  readonly feeds: Feeds;
  readonly rows: number;
  /** Requests with the same key can share a batch; undefined runs alone. */
  readonly key: string | undefined;
  readonly outputs: readonly string[] | undefined;
  readonly enqueuedAt: number;
  readonly request: Pending;
}

/** One caller's request; split into several entries when it is bigger than `maxBatchSize`. */
export interface Pending extends AbortWatched<Pending> {
  settled: boolean;
  remaining: number;
  parts: Outputs[] | undefined;
  entries: Entry[];
  resolve(out: Outputs): void;
  reject(error: unknown): void;
  deadline: ReturnType<typeof setTimeout> | undefined;
  onDispatch: (() => void) | undefined;
}

/** What a request's `entries` holds until they are made (never added to: always replaced). */
export const NO_ENTRIES: Entry[] = [];

/**
 * Makes `request.entries` (and returns them) for its `feeds`: one entry, or, when `shape` has more than `max`
 * rows, parts of `max` rows that {@link joinPart} puts together again. `shape` is the request's `batchKey`,
 * undefined when it runs alone.
 */
export function makeEntries(
  request: Pending,
  feeds: Feeds,
  shape: { rows: number; key: string } | undefined,
  max: number,
  priority: Priority,
  outputs: readonly string[] | undefined,
  enqueuedAt: number,
): Entry[] {
  if (shape && shape.rows > max) {
    // Too big for one batch: parts of maxBatchSize rows, joined again when all are done.
    const count = Math.ceil(shape.rows / max);
    request.remaining = count;
    request.parts = new Array<Outputs>(count);
    const entries: Entry[] = [];
    for (let i = 0; i < count; i++) {
      const rows = Math.min(max, shape.rows - i * max);
      entries.push({
        dequeued: false,
        priority,
        feeds: sliceFeeds(feeds, i * max, rows),
        rows,
        key: shape.key,
        outputs,
        enqueuedAt,
        request,
      });
    }
    request.entries = entries;
    return entries;
  }
  const entry: Entry = {
    dequeued: false,
    priority,
    feeds,
    rows: shape?.rows ?? 0,
    key: shape?.key,
    outputs,
    enqueuedAt,
    request,
  };
  request.entries = [entry];
  return request.entries;
}

/**
 * Keeps the outputs of one part of a split request; once every part is in, returns the request's outputs
 * joined along dimension 0, until then undefined.
 */
export function joinPart(entry: Entry, out: Outputs): Outputs | undefined {
  const request = entry.request;
  const parts = request.parts as Outputs[];
  parts[request.entries.indexOf(entry)] = out;
  if (--request.remaining > 0) return undefined;
  const total = request.entries.reduce((n, e) => n + e.rows, 0);
  const joined: Outputs = {};
  for (const name in parts[0])
    joined[name] = concatFeeds(
      parts.map((p) => ({ x: p[name] as TensorLike })),
      total,
    ).x as TensorLike;
  return joined;
}
