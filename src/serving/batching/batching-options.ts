import { z } from 'zod';
import type { BatcherConfig } from './batcher-types.js';

/** Defaults for {@link batchingOptionsSchema}. */
export const BATCHING_DEFAULTS = {
  maxBatchSize: 64,
  maxQueueDelayMs: 0,
  maxQueueSize: 1024,
} as const;

/**
 * Dynamic batching options for `loadModel` (Triton's dynamic batcher settings). `false` turns batching off:
 * every request then runs exactly as given, still queued for a free worker.
 */
export const batchingOptionsSchema = z.union([
  z.literal(false),
  z
    .strictObject({
      /** Turn batching off but keep the queue settings. Default true. */
      enabled: z.boolean().optional(),
      /** Most rows in one run (default 64). Requests with more rows are split into parts of this size. */
      maxBatchSize: z.number().int().positive().max(1_000_000).optional(),
      /**
       * How long the oldest queued request may wait for a fuller batch while a worker is free, in ms (fractions
       * allowed, e.g. 0.25). Default 0: batches form only from requests that queued while workers were busy.
       */
      maxQueueDelayMs: z.number().nonnegative().max(60_000).optional(),
      /** Batch sizes to dispatch as soon as they are reached (and to warm up). */
      preferredBatchSizes: z.array(z.number().int().positive()).max(64).optional(),
      /** Requests allowed to wait (default 1024); more fail fast with QUEUE_FULL (HTTP 429). */
      maxQueueSize: z.number().int().positive().optional(),
    })
    .refine(
      (o) => (o.preferredBatchSizes ?? []).every((s) => s <= (o.maxBatchSize ?? BATCHING_DEFAULTS.maxBatchSize)),
      {
        message: 'every preferredBatchSizes entry must be at most maxBatchSize',
        path: ['preferredBatchSizes'],
      },
    ),
]);

/** The user-facing batching options. */
export type BatchingOptions = z.input<typeof batchingOptionsSchema>;

/** Resolves options (already parsed) into the batcher's configuration; `batchable` comes from the signature. */
export function resolveBatching(
  options: z.output<typeof batchingOptionsSchema> | undefined,
  batchable: boolean,
): BatcherConfig {
  const o = options === false ? { enabled: false } : (options ?? {});
  return {
    enabled: batchable && o.enabled !== false,
    maxBatchSize: ('maxBatchSize' in o && o.maxBatchSize) || BATCHING_DEFAULTS.maxBatchSize,
    maxQueueDelayMs: ('maxQueueDelayMs' in o && o.maxQueueDelayMs) || BATCHING_DEFAULTS.maxQueueDelayMs,
    preferredBatchSizes: [...new Set(('preferredBatchSizes' in o && o.preferredBatchSizes) || [])].sort(
      (a, b) => a - b,
    ),
    maxQueueSize: ('maxQueueSize' in o && o.maxQueueSize) || BATCHING_DEFAULTS.maxQueueSize,
  };
}
