import { describe, expect, it } from 'vitest';
import { ModelshipError, Tensor } from 'modelship';
import { fromFloat16Bits, toFloat16Bits } from '../../src/core/dtype.js';

describe('Tensor', () => {
  it('nests data by shape and serializes to nested arrays', () => {
    const t = new Tensor('float32', new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    expect(t.toArray()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(JSON.stringify({ t })).toBe('{"t":[[1,2,3],[4,5,6]]}');
    expect(new Tensor('int64', new BigInt64Array([7n]), []).toArray()).toBe(7);
    expect(new Tensor('bool', new Uint8Array([1, 0]), [2]).toArray()).toEqual([true, false]);
    expect(new Tensor('float32', new Float32Array(0), [0, 3]).toArray()).toEqual([]);
  });

  it('refuses data that does not match the shape', () => {
    expect(() => new Tensor('float32', new Float32Array(5), [2, 3])).toThrow(RangeError);
  });

  it('round-trips float16', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8])
      expect(fromFloat16Bits(toFloat16Bits(v))).toBe(v);
    expect(fromFloat16Bits(toFloat16Bits(1e6))).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(Number.NaN)))).toBe(true);
    expect(fromFloat16Bits(toFloat16Bits(0.1))).toBeCloseTo(0.1, 3);
  });
});

describe('ModelshipError', () => {
  it('carries code, status, retryable and cause', () => {
    const cause = new Error('low level');
    const e = new ModelshipError('NOT_READY', 'not yet', { cause });
    expect([e.code, e.httpStatus, e.retryable, e.cause]).toEqual(['NOT_READY', 503, true, cause]);
    expect(e.toJSON()).toEqual({ code: 'NOT_READY', message: 'not yet' });
  });

  it('recognizes errors from another copy of the package by its marker', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('modelship.error')]: true, code: 'INTERNAL' });
    expect(ModelshipError.isInstance(foreign)).toBe(true);
    expect(ModelshipError.isInstance(new Error('x'))).toBe(false);
    expect(ModelshipError.isInstance(null)).toBe(false);
  });
});
