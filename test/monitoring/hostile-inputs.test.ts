/**
 * What monitoring refuses or survives: baselines that are not ones createBaseline made, bad options, and the
 * join window's edges (capacity, age, repeated ids) on a clock the test moves.
 */
import { describe, expect, it } from 'vitest';
import { createBaseline, loadModel, parseBaseline, silentLogger, type Baseline } from 'modelship';
import { FeedbackWindow } from '../../src/monitoring/feedback-window.js';
import { addOneModel } from '../helpers/models.js';

const signature = {
  inputs: [{ name: 'x', dtype: 'float32' as const, shape: [null, 4] }],
  outputs: [{ name: 'y', dtype: 'float32' as const, shape: [null, 4] }],
};

function small(): Baseline {
  const data = Float32Array.from({ length: 400 }, (_, i) => (i * 7) % 13);
  return createBaseline({ inputs: { x: { dtype: 'float32', shape: [100, 4], data } } }, { signature });
}

describe('parseBaseline', () => {
  it('accepts what createBaseline made, after JSON', () => {
    const b = small();
    expect(parseBaseline(JSON.parse(JSON.stringify(b)), signature)).toEqual(b);
  });

  const damaged: [string, (b: Record<string, any>) => unknown][] = [
    ['not an object', () => 'baseline'],
    ['another format', (b) => ({ ...b, format: 'evidently/v1' })],
    ['a feature missing', (b) => ({ ...b, numeric: b.numeric.slice(1) })],
    ['features renamed', (b) => ({ ...b, numeric: b.numeric.map((f: object) => ({ ...f, name: 'other' })) })],
    [
      'edges out of order',
      (b) => ({ ...b, numeric: [{ ...b.numeric[0], edges: [3, 1], counts: [1, 1, 1] }, ...b.numeric.slice(1)] }),
    ],
    [
      'counts not matching edges',
      (b) => ({ ...b, numeric: [{ ...b.numeric[0], counts: [1] }, ...b.numeric.slice(1)] }),
    ],
    ['a NaN quantile', (b) => ({ ...b, numeric: [{ ...b.numeric[0], quantiles: [null] }, ...b.numeric.slice(1)] })],
    [
      'a negative count',
      (b) => ({
        ...b,
        numeric: [{ ...b.numeric[0], counts: b.numeric[0].counts.map(() => -1) }, ...b.numeric.slice(1)],
      }),
    ],
    [
      'an input the model lacks',
      (b) => ({ ...b, sources: b.sources.map((s: object) => ({ ...s, tensor: 'pixels' })) }),
    ],
    ['a huge width', (b) => ({ ...b, sources: b.sources.map((s: object) => ({ ...s, width: 1e9 })) })],
  ];
  it.each(damaged)('refuses %s with INVALID_BASELINE, naming no path', (_, damage) => {
    const value = damage(JSON.parse(JSON.stringify(small())) as Record<string, any>);
    let error: unknown;
    try {
      parseBaseline(value, signature);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'INVALID_BASELINE' });
    expect((error as Error).message).toMatch(/createBaseline/);
  });

  it('refuses bad createBaseline input with a typed error', () => {
    expect(() => createBaseline({ inputs: { x: [[1, 2, 3]] } }, { signature })).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT' }),
    );
    expect(() => createBaseline({ inputs: { x: [[1, 2, 3, 4]] } }, { signature, bins: 1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    const outputs = { y: { dtype: 'float32' as const, shape: [2, 4], data: new Float32Array(8) } };
    expect(() => createBaseline({ inputs: { x: [[1, 2, 3, 4]] }, outputs }, { signature })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('fails a load given bad monitoring options or a foreign baseline, with typed errors', async () => {
    const load = (monitoring: unknown): Promise<unknown> =>
      loadModel(addOneModel(), { workers: 0, logger: silentLogger, monitoring: monitoring as never });
    await expect(load({ sampleRate: 2 })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await expect(load({ feedback: { capacity: 0 } })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await expect(load({ baseline: { format: 'x' } })).rejects.toMatchObject({ code: 'INVALID_BASELINE' });
  });
});

describe('the join window', () => {
  it('evicts the oldest at capacity and the too old by age, and tells expired from unknown', () => {
    let now = 0;
    const evicted: string[] = [];
    const w = new FeedbackWindow(
      3,
      1000,
      () => now,
      (reason) => evicted.push(reason),
    );
    for (const id of ['a', 'b', 'c', 'd']) w.record(id, 1);
    expect(evicted).toEqual(['capacity']);
    expect(w.take('a')).toBe('expired');
    expect(w.take('zzz')).toBe('unknown');
    expect(w.take('b')).toMatchObject({ predicted: 1 });
    expect(w.take('b')).toBe('duplicate');
    now = 2000;
    expect(w.take('c')).toBe('expired');
    // b was labelled before it aged out: only the unlabelled ones count as evicted.
    expect(evicted).toEqual(['capacity', 'age', 'age']);
    expect(w.pending).toBe(0);
    expect(w.size).toBe(0);
  });

  it('keeps the newest answer for a repeated id, and forgets ids past two generations', () => {
    const w = new FeedbackWindow(
      2,
      1e9,
      () => 0,
      () => undefined,
    );
    w.record('retry', 3);
    w.record('retry', 4);
    expect(w.size).toBe(1);
    expect(w.take('retry')).toMatchObject({ predicted: 4 });
    for (let i = 0; i < 10; i++) w.record(`n${i}`, i);
    expect(w.take('n9')).toMatchObject({ predicted: 9 });
    expect(w.take('n0')).toBe('unknown');
  });
});
