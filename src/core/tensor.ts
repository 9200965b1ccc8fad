import type { DType, DTypeStorage, TensorLike } from '../spec/tensor.js';
import { elementCount, fromFloat16Bits } from './dtype.js';

/** A nested JavaScript array of numbers, booleans or strings. */
export type NestedArray = number | boolean | string | NestedArray[];

/**
 * A dense row-major tensor returned by `predict`. `data` is the raw typed array; `toArray()` gives nested
 * JavaScript arrays, and `JSON.stringify` uses that view.
 */
export class Tensor<D extends DType = DType> implements TensorLike {
  readonly dtype: D;
  readonly data: DTypeStorage[D];
  readonly shape: readonly number[];

  constructor(dtype: D, data: DTypeStorage[D], shape: readonly number[]) {
    if (data.length !== elementCount(shape)) {
      throw new RangeError(
        `Tensor data has ${data.length} elements but shape [${shape.join(', ')}] needs ${elementCount(shape)}.`,
      );
    }
    this.dtype = dtype;
    this.data = data;
    this.shape = shape;
  }

  /** Wraps any `TensorLike` (a backend output, a plain object) without copying its data. */
  static from(value: TensorLike): Tensor {
    return value instanceof Tensor ? value : new Tensor(value.dtype, value.data, value.shape);
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /**
   * The values as nested arrays following `shape`. 64-bit integers become numbers (exact up to 2^53),
   * float16 is decoded, bool becomes true/false.
   */
  toArray(): NestedArray {
    const flat = flatValues(this.dtype, this.data);
    if (this.shape.length === 0) return flat[0] as NestedArray;
    return nest(flat, this.shape, 0, 0);
  }

  /** The values as a flat array in row-major order, decoded as `toArray` does. */
  toFlatArray(): Array<number | boolean | string> {
    return flatValues(this.dtype, this.data);
  }

  /** What `JSON.stringify` writes: the values as nested arrays (`toArray()`). */
  toJSON(): NestedArray {
    return this.toArray();
  }
}

function flatValues(dtype: DType, data: TensorLike['data']): Array<number | boolean | string> {
  switch (dtype) {
    case 'int64':
    case 'uint64':
      return Array.from(data as BigInt64Array, (v) => Number(v));
    case 'bool':
      return Array.from(data as Uint8Array, (v) => v !== 0);
    case 'float16':
      return Array.from(data as Uint16Array, fromFloat16Bits);
    case 'string':
      return [...(data as string[])];
    default:
      return Array.from(data as Float32Array);
  }
}

function nest(
  flat: ReadonlyArray<number | boolean | string>,
  shape: readonly number[],
  axis: number,
  offset: number,
): NestedArray[] {
  const dim = shape[axis] as number;
  if (axis === shape.length - 1) return flat.slice(offset, offset + dim) as NestedArray[];
  const stride = elementCount(shape.slice(axis + 1));
  const out: NestedArray[] = new Array(dim);
  for (let i = 0; i < dim; i++) out[i] = nest(flat, shape, axis + 1, offset + i * stride);
  return out;
}
