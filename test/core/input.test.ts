import { describe, expect, it } from 'vitest';
import { ModelshipError, type ModelSignature } from 'modelship';
import { toFeeds } from '../../src/core/input.js';

const mnist: ModelSignature = {
  inputs: [{ name: 'pixels', dtype: 'float32', shape: [null, 4] }],
  outputs: [{ name: 'probabilities', dtype: 'float32', shape: [null, 2] }],
};
const multi: ModelSignature = {
  inputs: [
    { name: 'features', dtype: 'float32', shape: [null, 3] },
    { name: 'ids', dtype: 'int64', shape: [null] },
    { name: 'mask', dtype: 'bool', shape: [null, 2] },
    { name: 'small', dtype: 'uint8', shape: [null] },
  ],
  outputs: [],
};

function invalid(fn: () => unknown): ModelshipError {
  try {
    fn();
  } catch (e) {
    expect(ModelshipError.isInstance(e)).toBe(true);
    expect((e as ModelshipError).code).toBe('INVALID_INPUT');
    expect((e as ModelshipError).httpStatus).toBe(400);
    return e as ModelshipError;
  }
  throw new Error('expected INVALID_INPUT');
}

describe('toFeeds', () => {
  it('converts nested arrays for a one-input model given as an array', () => {
    const feeds = toFeeds(mnist, [
      [0, 0.5, 1, 0.25],
      [1, 1, 1, 1],
    ]);
    expect(feeds.pixels?.shape).toEqual([2, 4]);
    expect(feeds.pixels?.data).toEqual(new Float32Array([0, 0.5, 1, 0.25, 1, 1, 1, 1]));
  });

  it('passes a matching typed array through without copying and infers the batch dimension', () => {
    const data = new Float32Array(8);
    const feeds = toFeeds(mnist, { pixels: data });
    expect(feeds.pixels?.data).toBe(data);
    expect(feeds.pixels?.shape).toEqual([2, 4]);
    expect(toFeeds(mnist, { data, shape: [2, 4] }).pixels?.data).toBe(data);
  });

  it('infers the rows of a flat typed array for higher ranks, and refuses one whose row shape is not fixed', () => {
    const image: ModelSignature = { inputs: [{ name: 'image', dtype: 'float32', shape: [null, 2, 3] }], outputs: [] };
    const data = new Float32Array(12);
    expect(toFeeds(image, data).image?.shape).toEqual([2, 2, 3]);
    expect(toFeeds(image, data).image?.data).toBe(data);
    expect(invalid(() => toFeeds(image, new Float32Array(7))).message).toContain(
      '7 values do not fill rows of [2, 3] (6 values each)',
    );
    const ragged: ModelSignature = {
      inputs: [{ name: 'tokens', dtype: 'float32', shape: [null, null, 3] }],
      outputs: [],
    };
    expect(invalid(() => toFeeds(ragged, new Float32Array(6))).message).toContain(
      'a flat typed array is ambiguous for shape',
    );
  });

  it('converts every dtype of a multi-input model', () => {
    const feeds = toFeeds(multi, {
      features: [[1, 2, 3]],
      ids: [9007199254740991],
      mask: [[true, false]],
      small: [255],
    });
    expect(feeds.ids?.data).toEqual(new BigInt64Array([9007199254740991n]));
    expect(feeds.mask?.data).toEqual(new Uint8Array([1, 0]));
    expect(feeds.small?.data).toEqual(new Uint8Array([255]));
  });

  it('names unknown and missing inputs', () => {
    const unknown = invalid(() => toFeeds(mnist, { pixel: [[0, 0, 0, 0]] }));
    expect(unknown.message).toContain('Unknown input "pixel"');
    expect(unknown.message).toContain('"pixels"');
    const missing = invalid(() => toFeeds(multi, { features: [[1, 2, 3]], ids: [1], mask: [[true, true]] }));
    expect(missing.message).toContain('Missing input "small"');
    expect(invalid(() => toFeeds(multi, [[1, 2, 3]])).message).toContain('pass an object keyed by input name');
    expect(invalid(() => toFeeds(mnist, null)).message).toContain('No inputs');
  });

  it('reports the path of a non-numeric value', () => {
    const rows = [
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 'x', 0, 0],
    ];
    const e = invalid(() => toFeeds(mnist, { pixels: rows }));
    expect(e.message).toBe('pixels[3][1]: expected number, got "x".');
    expect(e.details).toMatchObject({ input: 'pixels', path: 'pixels[3][1]' });
  });

  it('refuses wrong rank, wrong fixed dimensions and ragged arrays', () => {
    expect(invalid(() => toFeeds(mnist, [0, 0, 0, 0])).message).toMatch(
      /pixels: expected rank 2 \[\?, 4\], got rank 1 \[4\]\. For a single example, wrap it/,
    );
    expect(invalid(() => toFeeds(mnist, [[0, 0, 0]])).message).toContain('dimension 1 must be 4');
    expect(
      invalid(() =>
        toFeeds(mnist, [
          [0, 0, 0, 0],
          [0, 0, 0],
        ]),
      ).message,
    ).toBe('pixels[1]: expected an array of 4 (like pixels[0]), got an array of 3.');
    expect(invalid(() => toFeeds(mnist, [[0, 0, 0, 0], 7])).message).toContain('pixels[1]: expected an array of 4');
    expect(invalid(() => toFeeds(mnist, [[0, 0, 0, [0]]])).message).toContain(
      'pixels[0][3]: expected number, got an array',
    );
  });

  it('refuses NaN, Infinity, fractions and out-of-range values for integer dtypes', () => {
    const base = { features: [[1, 2, 3]], mask: [[true, true]], small: [1] };
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 1.5, 2 ** 60]) {
      const e = invalid(() => toFeeds(multi, { ...base, ids: [bad] }));
      expect(e.message).toMatch(/^ids\[0\]: expected integer \(int64\), got /);
    }
    expect(invalid(() => toFeeds(multi, { ...base, ids: [1], small: [256] })).message).toContain(
      'small[0]: expected integer (uint8), got 256',
    );
    expect(invalid(() => toFeeds(multi, { ...base, ids: [1], mask: [[true, 2]] })).message).toContain(
      'mask[0][1]: expected boolean, got 2',
    );
  });

  it('refuses null, booleans and objects where numbers are expected', () => {
    expect(invalid(() => toFeeds(mnist, [[0, null, 0, 0]])).message).toContain(
      'pixels[0][1]: expected number, got null',
    );
    expect(invalid(() => toFeeds(mnist, [[0, true, 0, 0]])).message).toContain('got true');
    expect(invalid(() => toFeeds(mnist, [[0, {}, 0, 0]])).message).toContain('got an object');
    expect(invalid(() => toFeeds(mnist, { pixels: 'abc' })).message).toContain('pixels: expected rank 2');
  });

  it('limits the number of rows', () => {
    const rows = Array.from({ length: 11 }, () => [0, 0, 0, 0]);
    expect(invalid(() => toFeeds(mnist, rows, { maxRows: 10 })).message).toContain(
      '11 rows is more than the limit of 10',
    );
    expect(toFeeds(mnist, rows.slice(1), { maxRows: 10 }).pixels?.shape).toEqual([10, 4]);
  });

  it('checks explicit { data, shape } objects', () => {
    expect(invalid(() => toFeeds(mnist, { data: [1, 2, 3], shape: [1, 4] })).message).toContain(
      'needs 4 values, got 3',
    );
    expect(invalid(() => toFeeds(mnist, { data: [1, 2, 3, 4], shape: [1, 4], dtype: 'int32' })).message).toContain(
      'expects dtype float32, got int32',
    );
    expect(invalid(() => toFeeds(mnist, { data: [1, 2, 3, 4], shape: [1, -4] })).message).toContain(
      'non-negative integers',
    );
    expect(invalid(() => toFeeds(mnist, new Float32Array(6))).message).toContain('6 values do not fill rows of [4]');
  });

  it('refuses NaN and ±Infinity for float16, float32 and float64, in nested arrays, { data, shape } and typed arrays', () => {
    for (const dtype of ['float16', 'float32', 'float64'] as const) {
      const sig: ModelSignature = { inputs: [{ name: 'x', dtype, shape: [null, 2] }], outputs: [] };
      for (const bad of [Number.NaN, Infinity, -Infinity]) {
        expect(invalid(() => toFeeds(sig, [[0, bad]])).message).toBe(`x[0][1]: expected a finite number, got ${bad}.`);
        expect(invalid(() => toFeeds(sig, { data: [0, bad], shape: [1, 2] })).message).toContain(
          'x.data[1]: expected a finite number',
        );
        const typed = dtype === 'float64' ? new Float64Array([0, bad]) : new Float32Array([0, bad]);
        expect(invalid(() => toFeeds(sig, typed)).message).toContain('x[1]: expected a finite number');
        expect(invalid(() => toFeeds(sig, { data: typed, shape: [1, 2] })).message).toContain(
          'x.data[1]: expected a finite number',
        );
        // The model opted in: the value is kept as given.
        expect(toFeeds(sig, [[0, bad]], { allowNonFinite: true }).x?.shape).toEqual([1, 2]);
        const kept = toFeeds(sig, typed, { allowNonFinite: true }).x?.data;
        if (dtype === 'float16') expect(kept).toBeInstanceOf(Uint16Array);
        else expect(kept).toBe(typed);
      }
    }
    // Finite in float64, Infinity once stored: refused too.
    expect(invalid(() => toFeeds(mnist, [[1e39, 0, 0, 0]])).message).toBe(
      'pixels[0][0]: expected a finite number, got 1e+39 (beyond the range of float32).',
    );
    const half: ModelSignature = { inputs: [{ name: 'h', dtype: 'float16', shape: [null] }], outputs: [] };
    expect(invalid(() => toFeeds(half, [70000])).message).toContain('beyond the range of float16');
    expect(invalid(() => toFeeds(half, { data: new Uint16Array([0x3c00, 0x7c00]), shape: [2] })).message).toBe(
      'h.data[1]: expected a finite number, got Infinity.',
    );
  });

  it('refuses nesting deeper than 64 levels at once, even when the rank is not declared', () => {
    const any: ModelSignature = { inputs: [{ name: 'x', dtype: 'float32', shape: null }], outputs: [] };
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(invalid(() => toFeeds(any, deep)).message).toContain('nested more than 64 levels deep');
    expect(invalid(() => toFeeds(any, { data: [1], shape: new Array(65).fill(1) })).message).toContain('at most 64');
    let ok: unknown = 1;
    for (let i = 0; i < 64; i++) ok = [ok];
    expect(toFeeds(any, ok).x?.shape).toHaveLength(64);
  });

  it('finds inputs by own name only, so Object.prototype members are neither found nor in the way', () => {
    const proto: ModelSignature = {
      inputs: [
        { name: 'constructor', dtype: 'float32', shape: [null] },
        { name: '__proto__', dtype: 'float32', shape: [null] },
      ],
      outputs: [],
    };
    expect(invalid(() => toFeeds(proto, JSON.parse('{"__proto__": [1]}'))).message).toContain(
      'Missing input "constructor"',
    );
    const feeds = toFeeds(proto, JSON.parse('{"constructor": [1], "__proto__": [2]}'));
    expect(Object.keys(feeds)).toEqual(['constructor', '__proto__']);
    expect(feeds.__proto__?.data).toEqual(new Float32Array([2]));
    expect(Object.getPrototypeOf(feeds)).toBe(Object.prototype);
    expect(invalid(() => toFeeds(mnist, { toString: [[0, 0, 0, 0]] })).message).toContain('Unknown input "toString"');
  });

  it('lists at most ten names in an error, with how many more', () => {
    const many = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`k${i}`.padEnd(100, 'x'), 0]));
    const e = invalid(() => toFeeds(multi, many));
    expect(e.message).toContain('… and 15 more');
    expect(e.message.length).toBeLessThan(1200);
    expect(e.details).toMatchObject({ unknownCount: 25 });
    expect((e.details?.unknown as string[]).length).toBe(10);
  });
});
