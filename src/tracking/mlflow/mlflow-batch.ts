import type { SpoolRecord } from '../records.js';

/** `runs/log-batch` limits of an MLflow 2.x server (`mlflow/utils/validation.py`). */
export const MLFLOW_BATCH_LIMITS = {
  metrics: 1000,
  params: 100,
  tags: 100,
  total: 1000,
  /** The server refuses a request body over 1e6 bytes. */
  bodyBytes: 1_000_000,
} as const;

/** One metric as `runs/log-batch` takes it; non-finite values use protobuf JSON's `"NaN"`/`"Infinity"` strings. */
export interface MlflowMetric {
  key: string;
  value: number | string;
  timestamp: number;
  step: number;
}

/** A key/value pair (param or tag). */
export interface MlflowKeyValue {
  key: string;
  value: string;
}

/** One `runs/log-batch` request, and the seq of the last record it completes (if it completes one). */
export interface MlflowBatch {
  readonly body: { run_id: string; metrics: MlflowMetric[]; params: MlflowKeyValue[]; tags: MlflowKeyValue[] };
  readonly completesSeq: number | undefined;
}

type Item = { kind: 'metrics'; entry: MlflowMetric } | { kind: 'params' | 'tags'; entry: MlflowKeyValue };

const encoder = new TextEncoder();
const byteLength = (value: unknown): number => encoder.encode(JSON.stringify(value)).byteLength;

function itemsOf(record: SpoolRecord): Item[] {
  switch (record.kind) {
    case 'metrics':
      return Object.entries(record.metrics).map(([key, v]) => ({
        kind: 'metrics',
        entry: { key, value: Number.isFinite(v) ? v : String(v), timestamp: record.time, step: record.step },
      }));
    case 'params':
      return Object.entries(record.params).map(([key, value]) => ({ kind: 'params', entry: { key, value } }));
    case 'tags':
      return Object.entries(record.tags).map(([key, value]) => ({ kind: 'tags', entry: { key, value } }));
    default:
      return [];
  }
}

/**
 * Packs the metrics, params and tags of consecutive records of one run into as few `runs/log-batch` requests
 * as the server's limits allow, keeping record order (so each key's points stay in order). A record larger than
 * one request spans several; `completesSeq` marks the request that finishes a record, which is when the spool
 * may acknowledge it. A param repeated with the same value in one request is sent once (the server refuses
 * duplicate keys in a request).
 */
export function chunkLogBatch(
  runId: string,
  records: readonly SpoolRecord[],
  limits = MLFLOW_BATCH_LIMITS,
): MlflowBatch[] {
  const envelope = byteLength({ run_id: runId, metrics: [], params: [], tags: [] });
  const batches: MlflowBatch[] = [];
  let current: MlflowBatch['body'] = { run_id: runId, metrics: [], params: [], tags: [] };
  let bytes = envelope;
  let completes: number | undefined;
  let paramKeys = new Set<string>();
  const count = (): number => current.metrics.length + current.params.length + current.tags.length;
  const close = (): void => {
    if (count() === 0 && completes === undefined) return;
    batches.push({ body: current, completesSeq: completes });
    current = { run_id: runId, metrics: [], params: [], tags: [] };
    bytes = envelope;
    completes = undefined;
    paramKeys = new Set();
  };
  for (const record of records) {
    for (const item of itemsOf(record)) {
      if (item.kind === 'params' && paramKeys.has(item.entry.key)) continue;
      // +1 for the comma separating it from the previous entry of its list.
      const size = byteLength(item.entry) + 1;
      const list = current[item.kind] as unknown[];
      const perKind = limits[item.kind];
      if (list.length >= perKind || count() >= limits.total || bytes + size > limits.bodyBytes) close();
      (current[item.kind] as unknown[]).push(item.entry);
      if (item.kind === 'params') paramKeys.add(item.entry.key);
      bytes += size;
    }
    completes = record.seq;
  }
  close();
  return batches;
}
