/**
 * Properties of input validation and conversion (`toFeeds`): every valid nested array converts to the same
 * flat data as the typed array it describes, and every malformed value is an INVALID_INPUT error — never a
 * TypeError, a RangeError or a silently wrong tensor.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toFeeds } from '../../src/core/input.js';
import { elementCount } from '../../src/core/dtype.js';
import type { ModelSignature, TensorLike, TensorSpec } from '../../src/spec/tensor.js';
import { element, expectedStorage, isCode, nest, specWithValues, thrown, wrongElement } from './arbitraries.js';

const RUNS = { numRuns: 300 };
const one = (spec: TensorSpec): ModelSignature => ({ inputs: [spec], outputs: [] });
const byName = (spec: TensorSpec, value: unknown): Record<string, unknown> => ({ [spec.name]: value });

/** A converted tensor is self-consistent and fits its spec. */
function wellFormed(spec: TensorSpec, t: TensorLike | undefined): boolean {
  if (t === undefined || t.dtype !== spec.dtype || t.data.length !== elementCount(t.shape)) return false;
  if (spec.shape === null) return true;
  return spec.shape.length === t.shape.length && spec.shape.every((d, i) => d === null || d === t.shape[i]);
}

describe('toFeeds properties', () => {
  it('a nested array, a { data, shape } of plain values and one of typed storage convert to the same tensor', () => {
    fc.assert(
      fc.property(specWithValues, ({ spec, shape, flat }) => {
        const expected = expectedStorage(spec.dtype, flat);
        const nested = toFeeds(one(spec), byName(spec, nest(flat, shape)))[spec.name] as TensorLike;
        const plain = toFeeds(one(spec), byName(spec, { data: flat, shape }))[spec.name] as TensorLike;
        const typed = toFeeds(one(spec), byName(spec, { data: expected, shape }))[spec.name] as TensorLike;
        for (const t of [nested, plain, typed]) {
          expect(t.shape).toEqual(shape);
          expect(t.dtype).toBe(spec.dtype);
          expect(t.data).toEqual(expected);
        }
      }),
      RUNS,
    );
  });

  it('a one-input model given the value itself converts exactly as when it is keyed by name', () => {
    fc.assert(
      fc.property(specWithValues, ({ spec, shape, flat }) => {
        const direct = toFeeds(one(spec), nest(flat, shape))[spec.name] as TensorLike;
        expect(direct.shape).toEqual(shape);
        expect(direct.data).toEqual(expectedStorage(spec.dtype, flat));
      }),
      RUNS,
    );
  });

  it('a flat typed array is given the shape its rows fill', () => {
    const fixedTail = specWithValues.filter(
      ({ spec }) => spec.dtype !== 'string' && spec.shape !== null && spec.shape.slice(1).every((d) => d !== null),
    );
    fc.assert(
      fc.property(fixedTail, ({ spec, shape, flat }) => {
        const storage = expectedStorage(spec.dtype, flat);
        const t = toFeeds(one(spec), storage)[spec.name] as TensorLike;
        expect(t.shape).toEqual(shape);
        expect(t.data).toEqual(storage);
      }),
      RUNS,
    );
  });

  it('one wrong element anywhere is INVALID_INPUT naming its path', () => {
    const mutated = specWithValues.chain((v) =>
      fc
        .record({ at: fc.nat({ max: v.flat.length - 1 }), bad: wrongElement(v.spec.dtype) })
        .map((m) => ({ ...v, ...m })),
    );
    fc.assert(
      fc.property(mutated, ({ spec, shape, flat, at, bad }) => {
        const values = flat.slice();
        values[at] = bad;
        // With an undeclared shape and a single element, a nested `[]` in its place is a valid empty tensor
        // ([[]] is shape [1, 0]), so only the flat form is wrong there.
        const emptyIsValid = Array.isArray(bad) && spec.shape === null && flat.length === 1;
        for (const input of emptyIsValid ? [{ data: values, shape }] : [nest(values, shape), { data: values, shape }]) {
          const error = thrown(() => toFeeds(one(spec), byName(spec, input)));
          expect(isCode(error, 'INVALID_INPUT')).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('NaN and ±Infinity are refused for every dtype (a model has to opt in)', () => {
    const nonFinite = specWithValues.chain((v) =>
      fc
        .record({ at: fc.nat({ max: v.flat.length - 1 }), bad: fc.constantFrom(Number.NaN, Infinity, -Infinity) })
        .map((m) => ({ ...v, ...m })),
    );
    fc.assert(
      fc.property(nonFinite, ({ spec, shape, flat, at, bad }) => {
        const values = flat.slice();
        values[at] = bad;
        const error = thrown(() => toFeeds(one(spec), byName(spec, nest(values, shape))));
        expect(isCode(error, 'INVALID_INPUT'), `${spec.dtype} ${String(bad)} at ${at}`).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('a ragged row, a missing level or an extra level is INVALID_INPUT, never a shifted tensor', () => {
    // Two rows at least: with one, a changed row is just a different (valid) shape for an undeclared spec.
    const multiRow = specWithValues.filter(({ shape }) => shape.length >= 2 && (shape[0] as number) >= 2);
    const damaged = multiRow.chain((v) =>
      fc
        .record({
          row: fc.nat({ max: (v.shape[0] as number) - 1 }),
          how: fc.constantFrom('shorter', 'longer', 'scalar', 'wrap'),
          extra: element(v.spec.dtype),
        })
        .map((m) => ({ ...v, ...m })),
    );
    fc.assert(
      fc.property(damaged, ({ spec, shape, flat, row, how, extra }) => {
        const nested = nest(flat, shape);
        const target = nested[row] as unknown[];
        if (how === 'shorter') target.pop();
        else if (how === 'longer') target.push(Array.isArray(target[0]) ? nest([extra], [1]) : extra);
        else if (how === 'scalar') nested[row] = extra;
        else nested[row] = [target];
        const error = thrown(() => toFeeds(one(spec), byName(spec, nested)));
        expect(isCode(error, 'INVALID_INPUT'), `${how} row ${row} of ${JSON.stringify(shape)}`).toBe(true);
      }),
      RUNS,
    );
  });

  it('any value at all either converts to a tensor that fits the spec or is INVALID_INPUT', () => {
    const hostile = fc.oneof(
      fc.anything({
        maxDepth: 4,
        withBigInt: true,
        withTypedArray: true,
        withNullPrototype: true,
        withObjectString: true,
        withSparseArray: true,
      }),
      fc.record({ data: fc.anything({ maxDepth: 2, withTypedArray: true }), shape: fc.anything({ maxDepth: 1 }) }),
      fc.record({
        data: fc.array(fc.double(), { maxLength: 8 }),
        shape: fc.array(fc.oneof(fc.integer(), fc.double(), fc.constant(2 ** 53)), { maxLength: 4 }),
      }),
    );
    fc.assert(
      fc.property(specWithValues, hostile, fc.boolean(), ({ spec }, value, keyed) => {
        let result: Record<string, TensorLike> | undefined;
        const error = thrown(() => {
          result = toFeeds(one(spec), keyed ? byName(spec, value) : value, { maxRows: 64 });
        });
        if (error === undefined) expect(wellFormed(spec, result?.[spec.name])).toBe(true);
        else expect(isCode(error, 'INVALID_INPUT')).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('nesting thousands of levels deep is INVALID_INPUT or a tensor, never a stack overflow', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1000, max: 30000 }), fc.boolean(), (depth, declared) => {
        let value: unknown = [1];
        for (let i = 1; i < depth; i++) value = [value];
        const spec: TensorSpec = { name: 'x', dtype: 'float32', shape: declared ? [null, 4] : null };
        const error = thrown(() => toFeeds(one(spec), value));
        expect(
          error === undefined || isCode(error, 'INVALID_INPUT') === true,
          `depth ${depth}: ${String(isCode(error, 'INVALID_INPUT'))}`,
        ).toBe(true);
      }),
      { numRuns: 20 },
    );
  });

  it('a missing input named like an Object.prototype member is reported missing', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__', 'isPrototypeOf'),
        (name) => {
          const signature: ModelSignature = {
            inputs: [
              { name, dtype: 'float32', shape: [null] },
              { name: 'other', dtype: 'float32', shape: [null] },
            ],
            outputs: [],
          };
          const error = thrown(() => toFeeds(signature, { other: [1] }));
          expect(isCode(error, 'INVALID_INPUT')).toBe(true);
          expect((error as Error).message).toMatch(/Missing input/);
        },
      ),
      { numRuns: 12 },
    );
  });
});
