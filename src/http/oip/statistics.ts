import type { Servable } from '../../serving/servable.js';

/**
 * Per model and version inference statistics in the shape of Triton's statistics extension
 * (`GET v2/models[/{name}[/versions/{v}]]/stats`, gRPC `ModelStatistics`): cumulative counts and durations in
 * nanoseconds since the server started. Field names are Triton's (docs/protocol/extension_statistics.md in
 * triton-inference-server/server), so dashboards and `tritonclient.get_inference_statistics()` read them as is.
 *
 * The store is keyed by the served object (a WeakMap), so every transport that serves the same model (OIP
 * REST, OIP gRPC) records into and reads from the same counters, and nothing outlives the model.
 *
 * What modelship can measure, and so what each field holds:
 * - `compute_input`: turning the request's tensors into the model's inputs (JSON parsing or binary views);
 * - `compute_infer`: the model call, which includes the time the request waited in modelship's batcher
 *   (the batcher does not report each request's wait separately), so `queue.ns` stays 0 while `queue.count`
 *   counts the requests;
 * - `compute_output`: encoding the answer (JSON or binary);
 * - `success` / `fail`: the whole request, from the first byte read to the answer being ready;
 * - `inference_count`: rows (the first dimension of the first input when the model batches, else 1 per request);
 * - `execution_count`: requests that succeeded (an upper bound: batched requests run together are counted apiece).
 */

/** Triton's `$duration_stat`. */
export interface DurationStat {
  count: number;
  ns: number;
}

/** Triton's `$inference_stats` (`cache_hit`/`cache_miss` are always zero: modelship has no response cache). */
export interface InferenceStats {
  success: DurationStat;
  fail: DurationStat;
  queue: DurationStat;
  compute_input: DurationStat;
  compute_infer: DurationStat;
  compute_output: DurationStat;
  cache_hit: DurationStat;
  cache_miss: DurationStat;
}

/** Triton's `$model_stat`, as the REST route serializes it. */
export interface ModelStat {
  name: string;
  version: string;
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: InferenceStats;
  batch_stats: BatchStat[];
}

/** Triton's `$batch_stats`: one per batch size seen (the request's rows, as the model was asked). */
export interface BatchStat {
  batch_size: number;
  compute_input: DurationStat;
  compute_infer: DurationStat;
  compute_output: DurationStat;
}

/** Durations of one finished request, in nanoseconds; phases that did not happen are undefined. */
export interface InferenceTiming {
  /** Rows the request carried (its batch size). */
  readonly rows: number;
  readonly ok: boolean;
  readonly totalNs: number;
  readonly inputNs?: number;
  readonly inferNs?: number;
  readonly outputNs?: number;
}

const zero = (): DurationStat => ({ count: 0, ns: 0 });

function emptyStat(name: string, version: string): ModelStat {
  return {
    name,
    version,
    last_inference: 0,
    inference_count: 0,
    execution_count: 0,
    inference_stats: {
      success: zero(),
      fail: zero(),
      queue: zero(),
      compute_input: zero(),
      compute_infer: zero(),
      compute_output: zero(),
      cache_hit: zero(),
      cache_miss: zero(),
    },
    batch_stats: [],
  };
}

function add(stat: DurationStat, ns: number | undefined): void {
  if (ns === undefined) return;
  stat.count += 1;
  stat.ns += Math.max(0, Math.round(ns));
}

/** Most batch sizes listed per version: a client choosing odd row counts must not grow the list without bound. */
const MAX_BATCH_STATS = 64;

const store = new WeakMap<Servable, Map<string, ModelStat>>();

/** Nanoseconds since `start` (a `performance.now()` reading). */
export function nsSince(start: number): number {
  return (performance.now() - start) * 1e6;
}

/**
 * Records one finished inference request of `model` answered by `version` (a deployment answers with one of
 * several). Called by every transport's infer path once per request, after the answer is encoded or failed.
 *
 * @example
 * ```ts
 * const t0 = performance.now();
 * // ... decode, predict, encode ...
 * recordInference(model, answer.version, { rows: 1, ok: true, totalNs: nsSince(t0), inferNs });
 * ```
 */
export function recordInference(model: Servable, version: string, timing: InferenceTiming): void {
  let versions = store.get(model);
  if (versions === undefined) {
    versions = new Map();
    store.set(model, versions);
  }
  let stat = versions.get(version);
  if (stat === undefined) {
    stat = emptyStat(model.name, version);
    versions.set(version, stat);
  }
  const s = stat.inference_stats;
  if (!timing.ok) {
    add(s.fail, timing.totalNs);
    return;
  }
  stat.last_inference = Date.now();
  stat.inference_count += timing.rows;
  stat.execution_count += 1;
  add(s.success, timing.totalNs);
  add(s.queue, 0);
  add(s.compute_input, timing.inputNs);
  add(s.compute_infer, timing.inferNs);
  add(s.compute_output, timing.outputNs);
  let batch = stat.batch_stats.find((b) => b.batch_size === timing.rows);
  if (batch === undefined && stat.batch_stats.length < MAX_BATCH_STATS) {
    batch = { batch_size: timing.rows, compute_input: zero(), compute_infer: zero(), compute_output: zero() };
    stat.batch_stats.push(batch);
  }
  if (batch !== undefined) {
    add(batch.compute_input, timing.inputNs);
    add(batch.compute_infer, timing.inferNs);
    add(batch.compute_output, timing.outputNs);
  }
}

/** True when `version` has answered through `model` (a deployment answers with versions other than its own). */
export function hasStats(model: Servable, version: string): boolean {
  return store.get(model)?.has(version) === true;
}

/**
 * The statistics of `model`: for `version` alone when given (zeros if it has not answered yet), else for its
 * own version and every version that has answered through it (a deployment answers with several). Copies: the
 * caller may serialize or convert them freely.
 */
export function modelStats(model: Servable, version?: string): ModelStat[] {
  const recorded = store.get(model);
  const names = new Set([version ?? model.version]);
  if (version === undefined && recorded !== undefined) for (const v of recorded.keys()) names.add(v);
  return [...names].map((v) => structuredClone(recorded?.get(v) ?? emptyStat(model.name, v)));
}
