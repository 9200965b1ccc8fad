import type { RunEndStatus } from '../spec/tracking.js';

/**
 * What a network tracker appends to its spool, one JSON line each. `seq` orders records within one spool;
 * `run` is the tracker's run key. Everything a delivery needs is in the record (timestamps included), so a
 * replay sends the very same points.
 */
export type SpoolRecord =
  | {
      seq: number;
      run: string;
      kind: 'start';
      experiment: string;
      name: string;
      tags: Record<string, string>;
      time: number;
    }
  | { seq: number; run: string; kind: 'params'; params: Record<string, string> }
  | { seq: number; run: string; kind: 'metrics'; metrics: Record<string, number>; step: number; time: number }
  | { seq: number; run: string; kind: 'tags'; tags: Record<string, string> }
  | { seq: number; run: string; kind: 'artifact'; file: string; path: string; size: number }
  | { seq: number; run: string; kind: 'end'; status: RunEndStatus; time: number };

/** A record before the spool numbers it. */
export type NewSpoolRecord = SpoolRecord extends infer R ? (R extends SpoolRecord ? Omit<R, 'seq'> : never) : never;

const NON_FINITE: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};

/** JSON for a record, keeping NaN and ±Infinity metric values (JSON.stringify would turn them into null). */
export function encodeRecord(record: SpoolRecord): string {
  if (record.kind !== 'metrics') return JSON.stringify(record);
  const metrics: Record<string, number | string> = {};
  for (const [k, v] of Object.entries(record.metrics)) metrics[k] = Number.isFinite(v) ? v : String(v);
  return JSON.stringify({ ...record, metrics });
}

/** Parses one spool line; `undefined` for a torn or foreign line, which the spool skips. */
export function decodeRecord(line: string): SpoolRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as SpoolRecord;
  if (!Number.isSafeInteger(record.seq) || typeof record.run !== 'string' || typeof record.kind !== 'string')
    return undefined;
  if (record.kind === 'metrics') {
    for (const [k, v] of Object.entries(record.metrics as Record<string, number | string>)) {
      if (typeof v === 'string') record.metrics[k] = NON_FINITE[v] ?? Number.NaN;
    }
  }
  return record;
}
