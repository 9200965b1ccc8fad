import { elementCount, storageConstructor } from '../../core/dtype.js';
import { clipName } from '../../core/echo.js';
import { ModelshipError } from '../../errors/index.js';
import type { DType, TensorLike, TensorStorage } from '../../spec/tensor.js';

/**
 * Raw tensor bytes as the Open Inference Protocol carries them: the binary data extension over HTTP
 * (`parameters.binary_data_size`) and `raw_input_contents` / `raw_output_contents` over gRPC. Both use the
 * same layout (KServe v2 "binary tensor data extension"; Triton's `tritonclient/utils` `serialize_byte_tensor`):
 * - numeric datatypes: the elements in row-major order, little-endian, packed (BOOL one byte each, FP16 the
 *   IEEE half bits);
 * - BYTES: each element as a 4-byte little-endian length followed by that many bytes.
 */

/** True on a little-endian host, where a typed array over the wire bytes reads them as they are. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Bytes per element of a numeric dtype (1 for bool, 2 for float16). */
export function bytesPerElement(dtype: Exclude<DType, 'string'>): number {
  return storageConstructor(dtype).BYTES_PER_ELEMENT;
}

function bad(message: string, details?: Record<string, unknown>): ModelshipError {
  return new ModelshipError('INVALID_INPUT', message, details === undefined ? {} : { details });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/**
 * Decodes the raw bytes of one tensor into modelship's storage for `dtype`, checking that their length is what
 * `shape` needs (`INVALID_INPUT` naming the tensor otherwise, so a short or long blob never shifts the values of
 * the tensors after it).
 *
 * Numeric data is not copied element by element: the result is a typed-array view over `bytes` when its offset
 * is aligned for the element size (and the host is little-endian), else one bulk copy of the bytes. The view
 * shares memory with `bytes`, so the caller must not reuse that buffer while the tensor is in use. BOOL bytes
 * other than 0 and 1 are read as true (1), as Triton does. BYTES elements must be valid UTF-8 (modelship's
 * string tensors hold text); an element length that runs past the end, or bytes left over, are refused.
 *
 * @param name the tensor's name, for error messages
 * @example
 * ```ts
 * const data = decodeRawTensor('x', 'float32', [1, 4], body.subarray(start, start + 16)); // Float32Array(4)
 * ```
 */
export function decodeRawTensor(
  name: string,
  dtype: DType,
  shape: readonly number[],
  bytes: Uint8Array,
): TensorStorage {
  const count = elementCount(shape);
  if (dtype === 'string') return decodeBytesElements(name, count, bytes);
  const Ctor = storageConstructor(dtype);
  const size = Ctor.BYTES_PER_ELEMENT;
  const expected = count * size;
  if (bytes.byteLength !== expected) {
    throw bad(
      `${clipName(name)}: shape [${shape.join(', ')}] of ${dtype} needs ${expected} bytes of binary data, got ${bytes.byteLength}.`,
      { input: clipName(name), expectedBytes: expected, gotBytes: bytes.byteLength },
    );
  }
  if (!LITTLE_ENDIAN && size > 1) return swapCopy(dtype, count, bytes);
  // A view needs an aligned offset; otherwise one memcpy into a fresh (aligned) buffer.
  // (Uint8Array's slice, which copies: a node Buffer's own `slice` is a view.)
  const source = bytes.byteOffset % size === 0 ? bytes : Uint8Array.prototype.slice.call(bytes);
  const data = new Ctor(source.buffer, source.byteOffset, count);
  if (dtype === 'bool') normalizeBool(data as Uint8Array);
  return data;
}

function normalizeBool(data: Uint8Array): void {
  for (let i = 0; i < data.length; i++) if ((data[i] as number) > 1) data[i] = 1;
}

/** Big-endian hosts only: read each element little-endian. */
function swapCopy(dtype: Exclude<DType, 'string'>, count: number, bytes: Uint8Array): TensorStorage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new (storageConstructor(dtype))(count);
  const size = storageConstructor(dtype).BYTES_PER_ELEMENT;
  const getter: Record<number, (o: number) => number | bigint> = {
    2: (o) => view.getUint16(o, true),
    4: (o) => (dtype === 'float32' ? view.getFloat32(o, true) : view.getUint32(o, true)),
    8: (o) =>
      dtype === 'float64'
        ? view.getFloat64(o, true)
        : dtype === 'int64'
          ? view.getBigInt64(o, true)
          : view.getBigUint64(o, true),
  };
  const get = getter[size] as (o: number) => number | bigint;
  const target = out as unknown as { [i: number]: number | bigint };
  // Bit patterns go through unsigned readers for 2/4-byte ints; typed-array stores wrap them back.
  for (let i = 0; i < count; i++) target[i] = get(i * size);
  return out;
}

function decodeBytesElements(name: string, count: number, bytes: Uint8Array): string[] {
  // Each element takes at least its 4-byte length: checked before allocating for a shape from the client.
  if (count > bytes.byteLength / 4) {
    throw bad(
      `${clipName(name)}: the shape needs ${count} BYTES elements, but ${bytes.byteLength} bytes of binary data hold at most ${Math.floor(bytes.byteLength / 4)}.`,
    );
  }
  const out = new Array<string>(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > bytes.byteLength) {
      throw bad(
        `${clipName(name)}: BYTES element ${i} has no 4-byte length prefix (binary data ends at byte ${bytes.byteLength}; the shape needs ${count} elements).`,
      );
    }
    const length = view.getUint32(offset, true);
    offset += 4;
    if (length > bytes.byteLength - offset) {
      throw bad(
        `${clipName(name)}: BYTES element ${i} says it is ${length} bytes long, but only ${bytes.byteLength - offset} bytes are left.`,
      );
    }
    try {
      out[i] = utf8.decode(bytes.subarray(offset, offset + length));
    } catch (cause) {
      throw new ModelshipError('INVALID_INPUT', `${clipName(name)}: BYTES element ${i} is not valid UTF-8 text.`, {
        cause,
      });
    }
    offset += length;
  }
  if (offset !== bytes.byteLength) {
    throw bad(
      `${clipName(name)}: ${bytes.byteLength - offset} bytes are left over after the ${count} BYTES elements the shape needs.`,
    );
  }
  return out;
}

/**
 * The raw little-endian bytes of a tensor, for a binary output. Numeric data is a view over the tensor's own
 * storage (no copy) on little-endian hosts; BYTES elements are written as 4-byte lengths plus UTF-8 bytes.
 *
 * @example
 * ```ts
 * const blob = encodeRawTensor(outputs.probabilities); // Uint8Array over the Float32Array's memory
 * ```
 */
export function encodeRawTensor(tensor: TensorLike): Uint8Array {
  const data = tensor.data;
  if (tensor.dtype === 'string') return encodeBytesElements(data as string[]);
  const typed = data as Exclude<TensorStorage, string[]>;
  if (LITTLE_ENDIAN || typed.BYTES_PER_ELEMENT === 1)
    return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  const out = new Uint8Array(typed.byteLength);
  const view = new DataView(out.buffer);
  const size = typed.BYTES_PER_ELEMENT;
  for (let i = 0; i < typed.length; i++) {
    const v = typed[i] as number | bigint;
    if (typeof v === 'bigint') view.setBigUint64(i * size, BigInt.asUintN(64, v), true);
    else if (size === 2) view.setUint16(i * size, v, true);
    else if (size === 4 && tensor.dtype === 'float32') view.setFloat32(i * size, v, true);
    else if (size === 4) view.setUint32(i * size, v >>> 0, true);
    else view.setFloat64(i * size, v, true);
  }
  return out;
}

function encodeBytesElements(values: readonly string[]): Uint8Array {
  const parts = values.map((v) => encoder.encode(v));
  let total = 0;
  for (const p of parts) total += 4 + p.byteLength;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const p of parts) {
    view.setUint32(offset, p.byteLength, true);
    out.set(p, offset + 4);
    offset += 4 + p.byteLength;
  }
  return out;
}
