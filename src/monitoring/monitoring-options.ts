import { z } from 'zod';
import type { DriftReport } from './drift-window.js';

const duration = z.union([
  z.number().nonnegative(),
  z.string().regex(/^\s*\d+(\.\d+)?\s*(ms|s|m|h)\s*$/, 'a duration such as "500ms", "60s", "5m" or "24h"'),
]);

/**
 * Model monitoring (`loadModel(ref, { monitoring })`): drift of sampled rows against a baseline, and live
 * accuracy from labels joined to predictions by request id. Everything is off the answer's path: sampled rows
 * are read after the answer is sent, on a bounded queue.
 */
export const monitoringOptionsSchema = z.strictObject({
  /**
   * The baseline to compare with (what `createBaseline` returns, or its JSON). Default: the one stored with the
   * version in the registry (`publish({ baseline })`); without any, drift is not measured but feedback is.
   */
  baseline: z.unknown().optional(),
  /** Share of requests whose rows go into the drift sketches (default 0.1). */
  sampleRate: z.number().min(0).max(1).optional(),
  /**
   * Requests sampled per second at most, whatever the traffic (default 200): the CPU drift takes stays flat at
   * any request rate. Reading one 784-pixel row costs tens of microseconds.
   */
  maxSamplesPerSecond: z.number().int().positive().max(1_000_000).optional(),
  /** How often the live window is compared with the baseline when it holds `minSamples` rows (default `'60s'`). */
  interval: duration.optional(),
  /** Rows a window needs before it is compared (default 200). */
  minSamples: z.number().int().positive().max(10_000_000).optional(),
  /** A window is compared and starts over as soon as it holds this many rows (default 5000). */
  maxSamples: z.number().int().positive().max(10_000_000).optional(),
  /** When a feature counts as drifted: PSI over `psi` (numeric, default 0.2), JS distance over `js` (default 0.1). */
  thresholds: z
    .strictObject({ psi: z.number().positive().optional(), js: z.number().positive().max(1).optional() })
    .optional(),
  /** Sampled requests waiting to be read at most; more are dropped and counted (default 256). */
  queueSize: z.number().int().positive().max(1_000_000).optional(),
  /** Called after each comparison with the features most drifted first. */
  onDrift: z
    .custom<(report: DriftReport) => void>((v) => typeof v === 'function', 'onDrift must be a function')
    .optional(),
  feedback: z
    .strictObject({
      /** Predictions kept waiting for a label at most; past it the oldest leave first, counted (default 100 000). */
      capacity: z.number().int().positive().max(100_000_000).optional(),
      /** How long a prediction waits for its label (default `'24h'`). */
      maxAge: duration.optional(),
      /** Labels the live accuracy (or MAE/RMSE) is computed over: the last this many (default 1000). */
      accuracyWindow: z.number().int().positive().max(10_000_000).optional(),
      /**
       * The output the label is compared with. Default: the first integer output of one value per row (a class),
       * else the first float output, read as its largest score's index when it has several values per row.
       */
      output: z.string().min(1).optional(),
      /** `classification` (labels are class indices) or `regression` (numbers; MAE and RMSE). Default: from the output. */
      task: z.enum(['classification', 'regression']).optional(),
    })
    .optional(),
});

/** Options for model monitoring. */
export type MonitoringOptions = z.input<typeof monitoringOptionsSchema>;
