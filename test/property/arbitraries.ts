/** fast-check generators shared by the property tests: tensor specs, values that fit them, and typed storage. */
import fc from 'fast-check';
import { DTYPES, storageConstructor, toFloat16Bits } from '../../src/core/dtype.js';
import { ModelshipError } from '../../src/errors/index.js';
import type { DType, TensorSpec, TensorStorage } from '../../src/spec/tensor.js';

/** Every dtype modelship converts. */
export const ALL_DTYPES: readonly DType[] = DTYPES;

/** Input names, including the ones that collide with `Object.prototype` members. */
export const inputName = fc.oneof(
  fc.constantFrom('x', 'pixels', 'data', 'shape', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'),
  fc.string({ minLength: 1, maxLength: 12 }),
);

/** One valid element of `dtype`, as a caller (or JSON) would give it. */
export function element(dtype: DType): fc.Arbitrary<unknown> {
  switch (dtype) {
    case 'float32':
      return fc.float({ noNaN: true, noDefaultInfinity: true });
    case 'float64':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'float16':
      return fc.double({ min: -65504, max: 65504, noNaN: true });
    case 'int8':
      return fc.integer({ min: -128, max: 127 });
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'int32':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'uint8':
      return fc.integer({ min: 0, max: 255 });
    case 'uint16':
      return fc.integer({ min: 0, max: 65535 });
    case 'uint32':
      return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    case 'int64':
      return fc.oneof(fc.maxSafeInteger(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }));
    case 'uint64':
      return fc.oneof(fc.maxSafeNat(), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
    case 'bool':
      return fc.oneof(fc.boolean(), fc.constantFrom(0, 1));
    case 'string':
      return fc.string({ maxLength: 8, unit: 'grapheme' });
  }
}

/** Values that no dtype-`dtype` element may be: wrong kinds, out of range, fractional, non-finite. */
export function wrongElement(dtype: DType): fc.Arbitrary<unknown> {
  const common: fc.Arbitrary<unknown>[] = [
    fc.constant(null),
    fc.constant(undefined),
    fc.constant({}),
    fc.constant([]),
    fc.object({ maxDepth: 1 }),
  ];
  if (dtype === 'string') return fc.oneof(...common, fc.double(), fc.boolean(), fc.bigInt());
  const numericWrong: fc.Arbitrary<unknown>[] = [...common, fc.string({ maxLength: 4 }), fc.constant('1')];
  if (dtype === 'bool')
    return fc.oneof(
      ...numericWrong,
      fc.integer().filter((v) => v !== 0 && v !== 1),
      fc.double({ min: 0.01, max: 0.99 }),
    );
  if (dtype === 'float32' || dtype === 'float64' || dtype === 'float16')
    return fc.oneof(...numericWrong, fc.constant(true));
  return fc.oneof(
    ...numericWrong,
    fc.constant(true),
    fc.double({ min: 0.01, max: 0.99 }),
    fc.constant(2 ** 64 + 1),
    fc.constant(-(2 ** 64) - 1),
  );
}

/** A spec together with a concrete shape that fits it and row-major flat values of that shape. */
export const specWithValues = fc
  .record({
    name: inputName,
    dtype: fc.constantFrom(...ALL_DTYPES),
    dims: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
    dyn: fc.constantFrom('fixed', 'dynamic', 'undeclared'),
  })
  .chain(({ name, dtype, dims, dyn }) => {
    const spec: TensorSpec = {
      name,
      dtype,
      shape: dyn === 'undeclared' ? null : dims.map((d, i) => (i === 0 && dyn === 'dynamic' ? null : d)),
    };
    const count = dims.reduce((a, b) => a * b, 1);
    return fc
      .array(element(dtype), { minLength: count, maxLength: count })
      .map((flat) => ({ spec, shape: dims, flat }));
  });

/** Row-major nested arrays of `shape` holding `flat`. */
export function nest(flat: readonly unknown[], shape: readonly number[]): unknown[] {
  if (shape.length === 1) return flat.slice();
  const stride = flat.length / (shape[0] as number);
  return Array.from({ length: shape[0] as number }, (_, i) =>
    nest(flat.slice(i * stride, (i + 1) * stride), shape.slice(1)),
  );
}

/** The storage modelship should produce for `flat` values of `dtype`. */
export function expectedStorage(dtype: DType, flat: readonly unknown[]): TensorStorage {
  if (dtype === 'string') return flat.slice() as string[];
  if (dtype === 'int64' || dtype === 'uint64')
    return (storageConstructor(dtype) as BigInt64ArrayConstructor).from(flat as never[], (v) =>
      BigInt(v as number),
    ) as TensorStorage;
  if (dtype === 'bool') return Uint8Array.from(flat as never[], (v) => (v === true || v === 1 ? 1 : 0));
  if (dtype === 'float16') return Uint16Array.from(flat as number[], (v) => toFloat16Bits(v));
  return (storageConstructor(dtype) as Float64ArrayConstructor).from(flat as number[]) as TensorStorage;
}

/** Runs `fn` and returns what it threw (undefined when it returned). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e;
  }
}

/** True for a ModelshipError with `code`; otherwise a message saying what was thrown instead, for the failure report. */
export function isCode(error: unknown, code: string): true | string {
  if (ModelshipError.isInstance(error) && error.code === code) return true;
  if (error instanceof Error)
    return `${error.name}${ModelshipError.isInstance(error) ? ` ${error.code}` : ''}: ${error.message.slice(0, 200)}`;
  return `no ${code} error (threw ${String(error)})`;
}
