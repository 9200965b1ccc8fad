import { z } from 'zod';
import type { FetchLike } from '../../core/fetch-like.js';
import { trackerOptionsShape } from '../tracker-options.js';

/** Options every network tracker (MLflow, W&B) shares: its spool, batching, retries, and where errors go. */
export const spoolOptionsShape = {
  /**
   * Root of the on-disk spools (default `$MODELSHIP_SPOOL_DIR` or `./.modelship/spool`). Each tracker keeps its
   * own directory below `<spoolDir>/<kind>-<destination hash>/`; a later tracker for the same destination
   * replays what an earlier process left there.
   */
  spoolDir: z.string().min(1).optional(),
  /** Unacknowledged records kept in memory per spool (default 10 000); beyond it they are on disk only, read back in order. */
  maxMemoryRecords: z.number().int().min(1).max(10_000_000).optional(),
  /** Records handed to one delivery (default 5000; the transport splits them into requests). */
  batchRecords: z.number().int().min(1).max(1_000_000).optional(),
  /** How long new records wait to be batched with others, in ms (default 200; `flush()` skips it). */
  lingerMs: z.number().int().min(0).max(60_000).optional(),
  /** Per-request timeout, in ms (default 30 000). */
  requestTimeoutMs: z.number().int().min(1).max(600_000).optional(),
  /** Retry backoff: first delay (default 500 ms), cap (default 30 s), largest `Retry-After` honoured (default 5 min). */
  retry: z
    .strictObject({
      initialDelayMs: z.number().int().min(1).optional(),
      maxDelayMs: z.number().int().min(1).optional(),
      maxRetryAfterMs: z.number().int().min(0).optional(),
    })
    .optional(),
  /** A spool owned by a process on another host counts as abandoned after this long without a heartbeat (default 1 h). */
  orphanAfterMs: z.number().int().min(1000).optional(),
  ...trackerOptionsShape,
  /** The fetch to use (default: the global one). */
  fetch: z.custom<FetchLike>((v) => typeof v === 'function', 'fetch must be a function').optional(),
};

/** The spool options once parsed. */
export type SpoolOptions = z.output<z.ZodObject<typeof spoolOptionsShape>>;

/** Defaults applied when a spool option is left out. */
export const SPOOL_DEFAULTS = {
  maxMemoryRecords: 10_000,
  batchRecords: 5000,
  lingerMs: 200,
  requestTimeoutMs: 30_000,
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 300_000,
  orphanAfterMs: 3_600_000,
  segmentBytes: 4 * 1024 * 1024,
  writeBufferBytes: 1024 * 1024,
} as const;
