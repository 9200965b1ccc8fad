import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter } from '../../src/core/backoff.js';
import { chunkLogBatch, MLFLOW_BATCH_LIMITS } from '../../src/tracking/mlflow/mlflow-batch.js';
import { decodeRecord, encodeRecord, type SpoolRecord } from '../../src/tracking/records.js';
import { validateMetrics, validateParams, validateStartRun } from '../../src/tracking/validate.js';

const metrics = (seq: number, n: number, prefix = 'm'): SpoolRecord => ({
  seq,
  run: 'r',
  kind: 'metrics',
  metrics: Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, i])),
  step: 0,
  time: 1,
});

describe('chunkLogBatch', () => {
  it('splits 2,500 metrics into 1000 + 1000 + 500, and marks only the last request as completing the record', () => {
    const batches = chunkLogBatch('run', [metrics(7, 2500)]);
    expect(batches.map((b) => b.body.metrics.length)).toEqual([1000, 1000, 500]);
    expect(batches.map((b) => b.completesSeq)).toEqual([undefined, undefined, 7]);
    expect(batches[0]?.body.metrics[0]).toEqual({ key: 'm0', value: 0, timestamp: 1, step: 0 });
  });

  it('keeps params and tags at 100 each and the total at 1000 per request', () => {
    const records: SpoolRecord[] = [
      {
        seq: 1,
        run: 'r',
        kind: 'params',
        params: Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`p${i}`, 'v'])),
      },
      {
        seq: 2,
        run: 'r',
        kind: 'tags',
        tags: Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`t${i}`, 'v'])),
      },
      metrics(3, 950),
    ];
    const batches = chunkLogBatch('run', records);
    for (const b of batches) {
      expect(b.body.params.length).toBeLessThanOrEqual(MLFLOW_BATCH_LIMITS.params);
      expect(b.body.tags.length).toBeLessThanOrEqual(MLFLOW_BATCH_LIMITS.tags);
      expect(b.body.metrics.length + b.body.params.length + b.body.tags.length).toBeLessThanOrEqual(
        MLFLOW_BATCH_LIMITS.total,
      );
    }
    expect(batches.flatMap((b) => b.body.params)).toHaveLength(250);
    expect(batches.flatMap((b) => b.body.tags)).toHaveLength(150);
    expect(batches.flatMap((b) => b.body.metrics)).toHaveLength(950);
    expect(batches.at(-1)?.completesSeq).toBe(3);
  });

  it('keeps every request body at or under 1,000,000 bytes, counting UTF-8 bytes', () => {
    const big = 'é'.repeat(2900); // 5800 bytes as UTF-8
    const records: SpoolRecord[] = Array.from({ length: 5 }, (_, r) => ({
      seq: r + 1,
      run: 'r',
      kind: 'params',
      params: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`p${r}_${i}`, big])),
    }));
    const batches = chunkLogBatch('run', records);
    for (const b of batches)
      expect(new TextEncoder().encode(JSON.stringify(b.body)).byteLength).toBeLessThanOrEqual(1_000_000);
    expect(batches.length).toBeGreaterThan(2);
    expect(batches.flatMap((b) => b.body.params)).toHaveLength(500);
  });

  it('sends a param repeated within one request once, and non-finite values as protobuf JSON strings', () => {
    const batches = chunkLogBatch('run', [
      { seq: 1, run: 'r', kind: 'params', params: { lr: '0.1' } },
      { seq: 2, run: 'r', kind: 'params', params: { lr: '0.1' } },
      { seq: 3, run: 'r', kind: 'metrics', metrics: { a: Number.NaN, b: Number.NEGATIVE_INFINITY }, step: 2, time: 5 },
    ]);
    expect(batches).toHaveLength(1);
    expect(batches[0]?.body.params).toEqual([{ key: 'lr', value: '0.1' }]);
    expect(batches[0]?.body.metrics.map((m) => m.value)).toEqual(['NaN', '-Infinity']);
  });
});

describe('spool records', () => {
  it('round-trip NaN and ±Infinity, and reject torn lines', () => {
    const record: SpoolRecord = {
      seq: 4,
      run: 'r',
      kind: 'metrics',
      metrics: { a: Number.NaN, b: Number.POSITIVE_INFINITY, c: -1 },
      step: 0,
      time: 1,
    };
    expect(decodeRecord(encodeRecord(record))).toEqual(record);
    expect(decodeRecord(encodeRecord(record).slice(0, 20))).toBeUndefined();
    expect(decodeRecord('{"hello":1}')).toBeUndefined();
  });
});

describe('backoff', () => {
  // The flusher's delay before its attempt `a` (1-based): the one backoff at retry a - 1, rounded to whole ms.
  const policy = { baseMs: 100, maxMs: 1000 };
  const delay = (a: number, random: () => number): number => Math.round(backoffDelay(a - 1, policy, undefined, random));
  it('doubles per attempt up to the cap, with half of each delay random', () => {
    expect([1, 2, 3, 4, 5, 10].map((a) => delay(a, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 10].map((a) => delay(a, () => 0.999999))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter('0.5')).toBe(500);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:29:00 GMT'))).toBe(0);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('tracking validation', () => {
  it('names the param over 6000 characters and the limit', () => {
    expect(() => validateParams({ description: 'x'.repeat(6001) }, new Map())).toThrow(
      expect.objectContaining({
        code: 'INVALID_PARAM',
        message: expect.stringMatching(/"description" is 6001 characters long; trackers accept at most 6000/),
      }),
    );
    expect(validateParams({ a: 'x'.repeat(6000), b: 2, c: false }, new Map())).toEqual({
      a: 'x'.repeat(6000),
      b: '2',
      c: 'false',
    });
  });

  it("applies MLflow's key rules: letters, digits, _ - . space /, no path tricks, at most 250 characters", () => {
    for (const key of ['a/b', 'eval acc', 'ü-ñ_1.2'])
      expect(() => validateMetrics({ [key]: 1 }, undefined, -1)).not.toThrow();
    for (const key of ['', 'a*b', '/abs', 'a//b', 'a/../b', 'x'.repeat(251)]) {
      expect(() => validateMetrics({ [key]: 1 }, undefined, -1)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
  });

  it('defaults the step to the previous one + 1 and the timestamp to now', () => {
    const before = Date.now();
    const { step, timestamp } = validateMetrics({ a: 1 }, undefined, 41);
    expect(step).toBe(42);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(() => validateMetrics({ a: 1 }, { timestamp: -1 }, 0)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('needs an experiment name', () => {
    expect(() => validateStartRun({ experiment: ' ' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(validateStartRun({ experiment: 'e', tags: { a: 'b' } })).toEqual({ experiment: 'e', tags: { a: 'b' } });
  });
});
