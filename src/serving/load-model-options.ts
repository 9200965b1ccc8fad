import { z } from 'zod';
import { batchingOptionsSchema } from './batching/index.js';
import { parseOptions } from '../core/options.js';
import type { DownloadProgress, RegistryAdapter, RegistryWarning } from '../spec/registry.js';
import { remoteOptionsShape } from '../registries/kit/remote-options.js';
import type { Logger } from './logger.js';
import { monitoringOptionsSchema } from '../monitoring/monitoring-options.js';

const isRegistry = (v: unknown): v is RegistryAdapter =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as RegistryAdapter).resolve === 'function' &&
  typeof (v as RegistryAdapter).fetch === 'function';

const isLogger = (v: unknown): v is Logger =>
  typeof v === 'object' &&
  v !== null &&
  ['debug', 'info', 'warn', 'error'].every((k) => typeof (v as Record<string, unknown>)[k] === 'function');

/** Options for `loadModel`. Parsed once at the boundary; invalid options fail with `INVALID_OPTIONS`. */
export const loadModelOptionsSchema = z.strictObject({
  /** Where named references (`mnist@production`) are resolved. Defaults to the local registry in `./models`. */
  registry: z
    .custom<RegistryAdapter>(
      isRegistry,
      'registry must implement resolve() and fetch(), e.g. createLocalRegistry({ root })',
    )
    .optional(),
  /** Name to serve the model under (defaults to the registry name, or the file name without `.onnx`). */
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'name must be letters, digits, ".", "_" or "-"')
    .optional(),
  /** Version label (defaults to the registry version, or the first 12 hex digits of the file's sha256). */
  version: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'version must be letters, digits, ".", "_" or "-"')
    .optional(),
  /** Expected sha256 of the file, for paths and bytes (registries record their own). */
  sha256: z
    .string()
    .regex(/^[a-fA-F0-9]{64}$/, 'sha256 must be 64 hex digits')
    .optional(),
  /** Largest first dimension accepted per request for inputs with a dynamic first dimension (default 4096). */
  maxRows: z.number().int().positive().optional(),
  /**
   * Accept NaN and ±Infinity in float inputs (default false: refused with `INVALID_INPUT`, as a JSON number such
   * as `1e309` that overflows is almost always a client bug, and the answer would be `null`s). Set it for models
   * built to take them, e.g. with masks or sentinels.
   */
  allowNonFinite: z.boolean().optional(),
  /**
   * Worker threads, each holding one session (default: the machine's available parallelism). `run()` blocks
   * the thread that calls it, so the default keeps inference off your event loop; `0` runs on the main thread.
   */
  workers: z.number().int().min(0).max(1024).optional(),
  /**
   * How many nice levels below the thread that loads the model its worker threads run (Linux; elsewhere
   * ignored). Default 1 (0 on a single core): a woken worker then rarely preempts your event loop, while
   * beside other busy processes the workers keep their share of the CPU (at 10 they would get about a tenth
   * of a shared core). `0` runs workers at your thread's priority.
   */
  workerNice: z.number().int().min(0).max(19).optional(),
  /**
   * Linux scheduling policy of the worker threads. Default `'batch'` (`SCHED_BATCH`, set with the system's
   * `chrt` when it has one): a worker woken up for a run waits for your event loop's turn on that core to end
   * instead of preempting it, and keeps its fair share of the CPU, unlike a higher `workerNice`. `'normal'`
   * leaves the default policy. Ignored elsewhere.
   */
  workerScheduling: z.enum(['batch', 'normal']).optional(),
  /**
   * Lone calls of a small model on the calling thread. Default `'auto'`: once a model (16 MiB or less) has been
   * called alone 32 times in a row, modelship times one run on the calling thread (with onnxruntime's default
   * threads and with one, keeping the faster) against one through a worker, and when the first is faster and
   * takes at most 2.5 ms (an MLP, a tabular classifier, a small CNN), a call that
   * arrives alone runs there, as calling onnxruntime directly would; concurrent calls still go to the workers.
   * `model.stats().execution` says what was measured and chosen. `false` keeps every call on the workers.
   */
  inline: z.union([z.literal('auto'), z.literal(false)]).optional(),
  /**
   * Dynamic batching, on for models whose inputs and outputs have a dynamic first dimension. Default `'auto'`:
   * the warm-up measures the batch-gain curve and chooses; `model.stats().batching` says what and why.
   */
  batching: batchingOptionsSchema.optional(),
  /** onnxruntime session options. */
  session: z
    .strictObject({
      intraOpNumThreads: z.number().int().nonnegative().optional(),
      interOpNumThreads: z.number().int().nonnegative().optional(),
      graphOptimizationLevel: z.enum(['disabled', 'basic', 'extended', 'all']).optional(),
      executionProviders: z.array(z.string()).optional(),
      logSeverityLevel: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3), z.literal(4)]).optional(),
    })
    .optional(),
  /**
   * Warm-up before `ready()` resolves. `true` (default) runs inputs synthesized from the signature and only
   * warns if they fail; `{ inputs }` runs your inputs and fails the load if they fail; `false` skips it.
   */
  warmup: z.union([z.boolean(), z.strictObject({ inputs: z.unknown() })]).optional(),
  logger: z.custom<Logger>(isLogger, 'logger must have debug, info, warn and error methods').optional(),
  signal: z.instanceof(AbortSignal).optional(),
  // Remote models. The cache options apply to URL references; registries that download have their own.
  /** Cache directory for URL references (default `$MODELSHIP_CACHE_DIR`, `$XDG_CACHE_HOME/modelship`, `~/.cache/modelship`). */
  cacheDir: z.string().min(1).optional(),
  /** Cache size budget in bytes for URL references; least recently used models are evicted, never those in use. */
  maxCacheBytes: z.number().int().positive().optional(),
  /** Largest download accepted for a URL reference (default 8 GiB): DOWNLOAD_TOO_LARGE past it. */
  maxDownloadBytes: z.number().int().positive().optional(),
  /** Download progress, for URL references and registries that download. */
  onProgress: z
    .custom<(progress: DownloadProgress) => void>((v) => typeof v === 'function', 'onProgress must be a function')
    .optional(),
  /** Warnings such as "registry unreachable, serving what the reference last resolved to" (default: `logger.warn`). */
  onWarning: z
    .custom<(warning: RegistryWarning) => void>((v) => typeof v === 'function', 'onWarning must be a function')
    .optional(),
  /** Drift against the version's baseline and live accuracy from delayed labels (docs/monitoring.md); off by default. */
  monitoring: monitoringOptionsSchema.optional(),
  /** S3 client settings for `s3://` references (endpoint and forcePathStyle for MinIO-style stores). */
  s3: remoteOptionsShape.s3,
});

/** Options for `loadModel`. */
export type LoadModelOptions = z.input<typeof loadModelOptionsSchema>;

/** Options after parsing. */
export type ParsedLoadModelOptions = z.output<typeof loadModelOptionsSchema>;

/** Parses options, turning zod's report into an INVALID_OPTIONS error. */
export function parseLoadModelOptions(options: unknown): ParsedLoadModelOptions {
  return parseOptions(loadModelOptionsSchema, options ?? {}, 'loadModel');
}
