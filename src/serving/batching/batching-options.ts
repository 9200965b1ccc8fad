import { z } from 'zod';
import type { BatcherConfig } from './batcher-types.js';

/** Defaults for {@link batchingOptionsSchema}. */
export const BATCHING_DEFAULTS = {
  maxBatchSize: 64,
  maxQueueDelayMs: 0,
  maxQueueSize: 1024,
} as const;

/**
 * Dynamic batching options for `loadModel` (Triton's dynamic batcher settings). The default, `'auto'`, measures
 * the model's batch-gain curve at warm-up and chooses `maxBatchSize`, the queue delay and whether to share
 * queued requests among free workers or wait for fuller batches (`model.stats().batching` says what and why).
 * Settings given explicitly win; what is left open is measured. `false` turns batching off: every request then
 * runs exactly as given, still queued for a free worker.
 */
export const batchingOptionsSchema = z.union([
  z.literal(false),
  z.literal('auto'),
  z
    .strictObject({
      /** Turn batching off but keep the queue settings. Default true. */
      enabled: z.boolean().optional(),
      /**
       * Measure the batch-gain curve and choose what is not given here (default true). `false` keeps the fixed
       * defaults: 64 rows, no queue delay.
       */
      adaptive: z.boolean().optional(),
      /**
       * The p99 latency you can accept, in ms, for adaptive batching: it never chooses a batch whose run takes
       * more than half of it, and only with a budget does it choose a queue delay (when batching pays).
       */
      p99BudgetMs: z.number().positive().max(600_000).optional(),
      /** Most rows in one run (chosen by measurement unless given). Bigger requests are split into parts of this size. */
      maxBatchSize: z.number().int().positive().max(1_000_000).optional(),
      /**
       * The longest the oldest queued request may wait for a fuller batch while a worker is free, in ms (fractions
       * allowed, e.g. 0.25). Applied only when the measured batch gain pays for waiting (see docs/performance.md,
       * "Choosing settings"); otherwise queued requests leave at once, shared among free workers.
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

/**
 * Resolves options (already parsed) into the batcher's configuration; `batchable` comes from the signature.
 * Until the measurement has chosen, an adaptive configuration runs with the defaults (and any explicit values).
 */
export function resolveBatching(
  options: z.output<typeof batchingOptionsSchema> | undefined,
  batchable: boolean,
): BatcherConfig {
  const o = options === false ? { enabled: false } : options === undefined || options === 'auto' ? {} : options;
  const enabled = batchable && o.enabled !== false;
  const explicitSize = 'maxBatchSize' in o ? o.maxBatchSize : undefined;
  const explicitDelay = 'maxQueueDelayMs' in o ? o.maxQueueDelayMs : undefined;
  const adaptive = enabled && !('adaptive' in o && o.adaptive === false);
  return {
    enabled,
    maxBatchSize: explicitSize || BATCHING_DEFAULTS.maxBatchSize,
    maxQueueDelayMs: explicitDelay || BATCHING_DEFAULTS.maxQueueDelayMs,
    preferredBatchSizes: [...new Set(('preferredBatchSizes' in o && o.preferredBatchSizes) || [])].sort(
      (a, b) => a - b,
    ),
    maxQueueSize: ('maxQueueSize' in o && o.maxQueueSize) || BATCHING_DEFAULTS.maxQueueSize,
    ...(adaptive
      ? {
          adaptive: {
            maxBatchSize: explicitSize,
            maxQueueDelayMs: explicitDelay,
            p99BudgetMs: 'p99BudgetMs' in o ? o.p99BudgetMs : undefined,
          },
        }
      : {}),
  };
}
