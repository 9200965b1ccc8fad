/**
 * Element-level input conversion: one writer per dtype that checks and stores a value, the messages for values
 * that do not fit, and the finiteness check for typed arrays passed through without a copy.
 */
import { ModelshipError } from '../errors/index.js';
import type { DType, TensorSpec, TensorStorage } from '../spec/tensor.js';
import { integerRange, toFloat16Bits } from './dtype.js';

/** Writes one value into typed storage at `i`; returns false when the value does not fit (the slot is garbage then). */
export type ElementWriter = (data: TensorStorage, i: number, v: unknown) => boolean;

const INT64_MIN = -(2n ** 63n);
const INT64_END = 2n ** 63n;
const UINT64_END = 2n ** 64n;
/** float16's exponent bits: all set means Infinity or NaN. */
const F16_EXP = 0x7c00;

function toBigInt(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v;
  return typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined;
}

/** True for float dtypes, where NaN and ±Infinity are representable (and refused unless a model opts in). */
export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
}

// `s - s === 0` is false exactly for NaN and ±Infinity. The stored value is checked, not the given one, so a
// finite number past float32's range (1e39) is caught too: it is stored as Infinity.
const finiteFloat: ElementWriter = (d, i, v) => {
  if (typeof v !== 'number') return false;
  (d as Float32Array)[i] = v;
  const s = (d as Float32Array)[i] as number;
  return s - s === 0;
};
const anyFloat: ElementWriter = (d, i, v) => typeof v === 'number' && (((d as Float32Array)[i] = v), true);
const finiteFloat16: ElementWriter = (d, i, v) => {
  if (typeof v !== 'number') return false;
  const bits = toFloat16Bits(v);
  (d as Uint16Array)[i] = bits;
  return (bits & F16_EXP) !== F16_EXP;
};
const anyFloat16: ElementWriter = (d, i, v) =>
  typeof v === 'number' && (((d as Uint16Array)[i] = toFloat16Bits(v)), true);

function makeWriter(dtype: DType): ElementWriter {
  switch (dtype) {
    case 'float32':
    case 'float64':
      return finiteFloat;
    case 'float16':
      return finiteFloat16;
    case 'bool':
      return (d, i, v) => {
        if (typeof v === 'boolean') (d as Uint8Array)[i] = v ? 1 : 0;
        else if (v === 0 || v === 1) (d as Uint8Array)[i] = v;
        else return false;
        return true;
      };
    case 'string':
      return (d, i, v) => typeof v === 'string' && (((d as string[])[i] = v), true);
    case 'int64':
      return (d, i, v) => {
        const big = toBigInt(v);
        if (big === undefined || big < INT64_MIN || big >= INT64_END) return false;
        (d as BigInt64Array)[i] = big;
        return true;
      };
    case 'uint64':
      return (d, i, v) => {
        const big = toBigInt(v);
        if (big === undefined || big < 0n || big >= UINT64_END) return false;
        (d as BigUint64Array)[i] = big;
        return true;
      };
    default: {
      const [lo, hi] = integerRange(dtype) as readonly [number, number];
      return (d, i, v) =>
        typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi && (((d as Int32Array)[i] = v), true);
    }
  }
}

const DTYPES: readonly DType[] = [
  'bool',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'int8',
  'int16',
  'int32',
  'int64',
  'float16',
  'float32',
  'float64',
  'string',
];
// Made once at load: converting an input picks a writer, it never makes one.
const STRICT = new Map<DType, ElementWriter>(DTYPES.map((d) => [d, makeWriter(d)]));
const LENIENT = new Map<DType, ElementWriter>([
  ...STRICT,
  ['float32', anyFloat],
  ['float64', anyFloat],
  ['float16', anyFloat16],
]);

/** The writer for `dtype`; with `allowNonFinite`, floats take NaN and ±Infinity. */
export function elementWriter(dtype: DType, allowNonFinite: boolean): ElementWriter {
  return (allowNonFinite ? LENIENT : STRICT).get(dtype) as ElementWriter;
}

function expected(dtype: DType): string {
  if (dtype === 'bool') return 'boolean';
  if (dtype === 'string') return 'string';
  return integerRange(dtype) ? `integer (${dtype})` : 'number';
}

function invalid(message: string, details: Record<string, unknown>): ModelshipError {
  return new ModelshipError('INVALID_INPUT', message, { details });
}

/** `pixels[3][1]: expected number, got "x".` (or `expected a finite number, got Infinity.`) */
export function elementError(spec: TensorSpec, path: string, v: unknown): ModelshipError {
  if (typeof v === 'number' && isFloat(spec.dtype)) {
    const range = Number.isFinite(v) ? ` (beyond the range of ${spec.dtype})` : '';
    return invalid(`${path}: expected a finite number, got ${describe(v)}${range}.`, { input: spec.name, path });
  }
  return invalid(`${path}: expected ${expected(spec.dtype)}, got ${describe(v)}.`, { input: spec.name, path });
}

/**
 * Refuses NaN and ±Infinity in float storage that is used as given (a typed array passed in-process). One plain
 * loop over the values: no copy, no closure, and nothing at all for other dtypes.
 */
export function checkFinite(spec: TensorSpec, data: TensorStorage, field: '' | '.data'): void {
  if (data instanceof Float32Array || data instanceof Float64Array) {
    // Branch-free first pass: `v * 0` is 0 for every finite v and NaN otherwise, and NaN sticks in a sum. Four
    // sums, so the additions do not wait on each other (a 784-float row: about a third of the time of one sum).
    let a = 0;
    let b = 0;
    let c = 0;
    let d = 0;
    const n = data.length;
    const end = n - (n % 4);
    for (let i = 0; i < end; i += 4) {
      a += (data[i] as number) * 0;
      b += (data[i + 1] as number) * 0;
      c += (data[i + 2] as number) * 0;
      d += (data[i + 3] as number) * 0;
    }
    for (let i = end; i < n; i++) a += (data[i] as number) * 0;
    if (a + b + c + d === 0) return;
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as number;
      if (v - v !== 0) throw elementError(spec, `${spec.name}${field}[${i}]`, v);
    }
  } else if (spec.dtype === 'float16' && data instanceof Uint16Array) {
    for (let i = 0; i < data.length; i++) {
      const bits = data[i] as number;
      if ((bits & F16_EXP) === F16_EXP) {
        const v = bits & 0x3ff ? Number.NaN : bits & 0x8000 ? -Infinity : Infinity;
        throw elementError(spec, `${spec.name}${field}[${i}]`, v);
      }
    }
  }
}

/** A short description of a value for an error message (strings cut to 40 characters). */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (Array.isArray(v)) return 'an array';
  return `an ${typeof v}`;
}
