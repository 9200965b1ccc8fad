/**
 * Properties of Open Inference Protocol decoding: a tensor survives encode → JSON → decode → convert, nested
 * and flat `data` mean the same thing, and hostile JSON values are INVALID_INPUT — never another exception
 * and never a tensor whose rows were silently shifted.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeOipInputs, encodeOipOutput } from '../../src/http/oip/codec.js';
import { toOipDatatype } from '../../src/core/oip-datatype.js';
import { toFeeds } from '../../src/core/input.js';
import { Tensor } from '../../src/core/tensor.js';
import type { ModelSignature, TensorLike, TensorSpec } from '../../src/spec/tensor.js';
import { toFloat16Bits } from '../../src/core/dtype.js';
import { expectedStorage, inputName, isCode, nest, specWithValues, thrown } from './arbitraries.js';

const RUNS = { numRuns: 300 };

/**
 * What a client's JSON carries: no bigints (64-bit integers travel as numbers), no -0 (JSON writes it as 0),
 * nothing that rounds to -0 in float16. Input names are plain here: prototype-named inputs have their own test.
 */
const jsonSafe = specWithValues
  .filter(({ flat }) =>
    flat.every(
      (v) => typeof v !== 'bigint' || (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)),
    ),
  )
  .map(({ spec, shape, flat }) => {
    const plain = flat.map((x) => (typeof x === 'bigint' ? Number(x) : x));
    const json = JSON.parse(JSON.stringify(plain)) as unknown[];
    const safe = spec.dtype === 'float16' ? json.map((x) => (toFloat16Bits(x as number) === 0x8000 ? 0 : x)) : json;
    return { spec: { ...spec, name: 'input' }, shape, flat: safe };
  });

/** Decodes as the v2 route does, then converts as `predict` does. */
function decodeAndConvert(body: unknown, signature: ModelSignature): Record<string, TensorLike> {
  const request = JSON.parse(JSON.stringify(body)) as { inputs?: unknown };
  return toFeeds(signature, decodeOipInputs(request.inputs, signature.inputs));
}

const oipInput = (spec: TensorSpec, shape: readonly number[], data: unknown): Record<string, unknown> => ({
  name: spec.name,
  shape,
  datatype: toOipDatatype(spec.dtype),
  data,
});

describe('OIP decoding properties', () => {
  it('an encoded output decodes back to the same tensor', () => {
    fc.assert(
      fc.property(jsonSafe, ({ spec, shape, flat }) => {
        const storage = expectedStorage(spec.dtype, flat);
        const wire = encodeOipOutput(spec.name, new Tensor(spec.dtype, storage, shape));
        const feeds = decodeAndConvert({ inputs: [wire] }, { inputs: [spec], outputs: [] });
        expect(feeds[spec.name]?.shape).toEqual(shape);
        expect(feeds[spec.name]?.data).toEqual(storage);
      }),
      RUNS,
    );
  });

  it('nested row-major data and flat data decode to the same tensor', () => {
    fc.assert(
      fc.property(jsonSafe, ({ spec, shape, flat }) => {
        const signature = { inputs: [spec], outputs: [] };
        const nested = decodeAndConvert({ inputs: [oipInput(spec, shape, nest(flat, shape))] }, signature);
        const plain = decodeAndConvert({ inputs: [oipInput(spec, shape, flat)] }, signature);
        expect(nested[spec.name]?.data).toEqual(plain[spec.name]?.data);
        expect(nested[spec.name]?.data).toEqual(expectedStorage(spec.dtype, flat));
      }),
      RUNS,
    );
  });

  it('nested data whose rows do not follow the shape is INVALID_INPUT, even when the total count is right', () => {
    const ragged = jsonSafe
      .filter(({ shape }) => shape.length >= 2 && (shape[0] as number) >= 2)
      .chain((v) =>
        fc
          .record({
            from: fc.nat({ max: (v.shape[0] as number) - 1 }),
            to: fc.nat({ max: (v.shape[0] as number) - 1 }),
          })
          .filter(({ from, to }) => from !== to)
          .map((m) => ({ ...v, ...m })),
      );
    fc.assert(
      fc.property(ragged, ({ spec, shape, flat, from, to }) => {
        // Moving one leaf (or one sub-row) between rows keeps the count and breaks the structure.
        const data = nest(flat, shape) as unknown[][];
        (data[to] as unknown[]).push((data[from] as unknown[]).pop());
        const error = thrown(() =>
          decodeAndConvert({ inputs: [oipInput(spec, shape, data)] }, { inputs: [spec], outputs: [] }),
        );
        expect(isCode(error, 'INVALID_INPUT'), `shape ${JSON.stringify(shape)} data ${JSON.stringify(data)}`).toBe(
          true,
        );
      }),
      RUNS,
    );
  });

  it('distinct input names, Object.prototype members included, are never "given twice"', () => {
    fc.assert(
      fc.property(fc.uniqueArray(inputName, { minLength: 1, maxLength: 6 }), (names) => {
        const inputs = names.map((name) => ({ name, shape: [1], datatype: 'FP32', data: [1] }));
        const decoded = decodeOipInputs(JSON.parse(JSON.stringify(inputs)), []);
        expect(Object.keys(decoded).sort()).toEqual([...names].sort());
      }),
      { numRuns: 200 },
    );
  });

  it('data nested thousands of levels deep is INVALID_INPUT, never a stack overflow', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1000, max: 30000 }), (depth) => {
        const text = `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":${'['.repeat(depth)}1${']'.repeat(depth)}}]}`;
        const body = JSON.parse(text) as { inputs: unknown };
        const spec: TensorSpec = { name: 'x', dtype: 'float32', shape: [null] };
        const error = thrown(() => toFeeds({ inputs: [spec], outputs: [] }, decodeOipInputs(body.inputs, [spec])));
        expect(isCode(error, 'INVALID_INPUT'), `depth ${depth}`).toBe(true);
      }),
      { numRuns: 20 },
    );
  });

  it('any JSON value as "inputs" decodes and converts, or is INVALID_INPUT', () => {
    const specs: TensorSpec[] = [
      { name: 'x', dtype: 'float32', shape: [null, 3] },
      { name: 'ids', dtype: 'int64', shape: [null] },
      { name: 'text', dtype: 'string', shape: [null] },
      { name: 'mask', dtype: 'bool', shape: [2, 2] },
    ];
    const leaf = fc.oneof(
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.string({ maxLength: 4 }),
      fc.constant(null),
      fc.constant(1e308),
      fc.constant(2 ** 64),
      fc.object({ maxDepth: 1 }),
    );
    const data = fc.oneof(
      fc.array(leaf, { maxLength: 12 }),
      fc.array(fc.array(leaf, { maxLength: 4 }), { maxLength: 4 }),
      fc.array(fc.array(fc.array(leaf, { maxLength: 3 }), { maxLength: 3 }), { maxLength: 3 }),
      fc.jsonValue({ maxDepth: 3 }),
    );
    const entry = fc.record(
      {
        name: fc.oneof(
          fc.constantFrom('x', 'ids', 'text', 'mask', '__proto__', 'constructor', 'toString'),
          fc.jsonValue({ maxDepth: 1 }),
        ),
        shape: fc.oneof(
          fc.array(fc.integer({ min: -1, max: 5 }), { maxLength: 4 }),
          fc.array(fc.oneof(fc.double(), fc.constant(2 ** 60)), { maxLength: 3 }),
          fc.jsonValue({ maxDepth: 1 }),
        ),
        datatype: fc.oneof(
          fc.constantFrom('FP32', 'INT64', 'BYTES', 'BOOL', 'FP16', 'UINT8', 'fp32', ''),
          fc.jsonValue({ maxDepth: 1 }),
        ),
        data,
      },
      { requiredKeys: [] },
    );
    const inputs = fc.oneof(fc.array(entry, { maxLength: 5 }), fc.jsonValue({ maxDepth: 3 }));
    fc.assert(
      fc.property(inputs, (value) => {
        const signature = { inputs: specs, outputs: [] };
        const error = thrown(() => decodeAndConvert({ inputs: value }, signature));
        if (error !== undefined) expect(isCode(error, 'INVALID_INPUT'), JSON.stringify(value)).toBe(true);
      }),
      { numRuns: 1500 },
    );
  });

  it('values a JSON number cannot hold as the dtype (overflow to Infinity, fractions for integers) are INVALID_INPUT', () => {
    const cases = fc.oneof(
      fc.record({
        datatype: fc.constantFrom('FP32', 'FP64', 'FP16'),
        literal: fc.constantFrom('1e309', '-1e309', '1e400'),
      }),
      fc.record({
        datatype: fc.constantFrom('INT8', 'INT32', 'UINT8', 'INT64', 'UINT64', 'BOOL'),
        literal: fc.constantFrom('0.5', '1e309', '1e30', '9223372036854775808'),
      }),
    );
    fc.assert(
      fc.property(cases, ({ datatype, literal }) => {
        const dtype = (
          {
            FP32: 'float32',
            FP64: 'float64',
            FP16: 'float16',
            INT8: 'int8',
            INT32: 'int32',
            UINT8: 'uint8',
            INT64: 'int64',
            UINT64: 'uint64',
            BOOL: 'bool',
          } as const
        )[datatype as 'FP32'];
        const spec: TensorSpec = { name: 'x', dtype, shape: [null] };
        const body = JSON.parse(
          `{"inputs":[{"name":"x","shape":[2],"datatype":"${datatype}","data":[1,${literal}]}]}`,
        ) as { inputs: unknown };
        const error = thrown(() => toFeeds({ inputs: [spec], outputs: [] }, decodeOipInputs(body.inputs, [spec])));
        expect(isCode(error, 'INVALID_INPUT'), `${datatype} ${literal}`).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});
