import type { DType, DTypeStorage } from '../spec/tensor.js';

type Ctor = {
  new (length: number): DTypeStorage[Exclude<DType, 'string'>];
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): DTypeStorage[Exclude<DType, 'string'>];
  readonly BYTES_PER_ELEMENT: number;
};

const CONSTRUCTORS: Record<Exclude<DType, 'string'>, Ctor> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

/** The typed-array constructor a numeric dtype is stored in (`float16` as raw bits in Uint16Array, `bool` in Uint8Array). */
export function storageConstructor(dtype: Exclude<DType, 'string'>): Ctor {
  return CONSTRUCTORS[dtype];
}

/** Every dtype modelship knows, in a stable order. */
export const DTYPES = [...Object.keys(CONSTRUCTORS), 'string'] as readonly DType[];

/** True for a dtype name modelship supports. */
export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

/** Allocates zeroed storage for `length` elements of `dtype`. */
export function allocate<D extends DType>(dtype: D, length: number): DTypeStorage[D] {
  if (dtype === 'string') return new Array<string>(length).fill('') as DTypeStorage[D];
  return new CONSTRUCTORS[dtype as Exclude<DType, 'string'>](length) as DTypeStorage[D];
}

/** True when `data` is the storage type `dtype` uses (so it can be passed through without copying). */
export function storageMatches(dtype: DType, data: unknown): boolean {
  if (dtype === 'string') return Array.isArray(data);
  return data instanceof CONSTRUCTORS[dtype];
}

const INTEGER_RANGES: Partial<Record<DType, readonly [number, number]>> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

/** The inclusive range a JSON number may take for an integer dtype, or undefined for non-integer dtypes. */
export function integerRange(dtype: DType): readonly [number, number] | undefined {
  return INTEGER_RANGES[dtype];
}

/** True for float32, float64 and float16. */
export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
}

/** Product of the dimensions (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** Converts a number to IEEE-754 half-precision bits, rounding to nearest even. */
export function toFloat16Bits(value: number): number {
  F32[0] = value;
  const x = U32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow to zero
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && r & 1)) r++;
    return sign | r;
  }
  let r = mant >> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

/** Converts IEEE-754 half-precision bits to a number. */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
