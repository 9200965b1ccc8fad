import { DTYPES, storageConstructor } from '../../../core/dtype.js';
import type { DType, TensorLike } from '../../../spec/tensor.js';

/**
 * Writes numeric tensors into a shared arena and reads them back, so a request crosses to a worker thread with
 * one memory copy and no serialization. Layout (32-bit words, then 8-byte aligned data):
 *
 *   [tag, count, extraCount, extra…, per tensor: (slot, dtype, rank, byteOffset, byteLength, dims…)]  data…
 *
 * `tag` is the call's sequence number, so a reader can tell a message from a stale one.
 *
 * `slot` is the tensor's index in a name table both sides agreed on at start-up; `extra` carries small
 * integers such as the output indices to fetch. String tensors cannot live in shared memory: callers check
 * {@link arenaEncodable} and send those through the message port instead.
 */

const NUMERIC = DTYPES.filter((d) => d !== 'string');
const CODE = new Map<DType, number>(NUMERIC.map((d, i) => [d, i]));

/** A tensor tagged with its index in the agreed name table. */
export interface SlotTensor {
  readonly slot: number;
  readonly tensor: TensorLike;
}

const align8 = (n: number): number => (n + 7) & ~7;
/** Dimensions beyond this rank are sent through the port; real models stay far below it. */
const MAX_RANK = 32;

/** True when every tensor can be placed in shared memory (numeric, rank ≤ 32, dims fit in 32 bits). */
export function arenaEncodable(tensors: readonly SlotTensor[]): boolean {
  for (const { tensor } of tensors) {
    if (tensor.dtype === 'string' || tensor.shape.length > MAX_RANK) return false;
    for (const d of tensor.shape) if (d > 0x7fffffff) return false;
  }
  return true;
}

/** Bytes needed to encode `tensors` with `extraCount` extra words. */
export function encodedSize(tensors: readonly SlotTensor[], extraCount: number): number {
  let words = 3 + extraCount;
  let data = 0;
  for (const { tensor } of tensors) {
    words += 5 + tensor.shape.length;
    data += align8((tensor.data as ArrayBufferView).byteLength);
  }
  return align8(words * 4) + data;
}

/**
 * Encodes tensors at the start of `arena`, stamped with `tag` (the call's sequence number, so the reader can
 * tell the message from a stale one). The caller has checked {@link encodedSize} against its length.
 */
export function writeTensors(
  arena: SharedArrayBuffer,
  tensors: readonly SlotTensor[],
  extra: readonly number[] = [],
  tag = 0,
): void {
  let words = 3 + extra.length;
  for (const { tensor } of tensors) words += 5 + tensor.shape.length;
  const header = new Int32Array(arena, 0, words);
  const bytes = new Uint8Array(arena);
  let w = 0;
  header[w++] = tag;
  header[w++] = tensors.length;
  header[w++] = extra.length;
  for (const e of extra) header[w++] = e;
  let offset = align8(words * 4);
  for (const { slot, tensor } of tensors) {
    const view = tensor.data as ArrayBufferView;
    header[w++] = slot;
    header[w++] = CODE.get(tensor.dtype) as number;
    header[w++] = tensor.shape.length;
    header[w++] = offset;
    header[w++] = view.byteLength;
    for (const d of tensor.shape) header[w++] = d;
    bytes.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength), offset);
    offset += align8(view.byteLength);
  }
}

/** The tag the last {@link writeTensors} into `arena` stamped. */
export function readTag(arena: SharedArrayBuffer): number {
  return new Int32Array(arena, 0, 1)[0] as number;
}

/** What {@link readTensors} returns. */
export interface DecodedTensors {
  readonly tensors: SlotTensor[];
  readonly extra: number[];
}

/**
 * Memory a reader copies tensors into and reuses from one message to the next: one buffer per slot, grown
 * when a bigger tensor arrives. For a worker's requests, whose run has finished before the next one is read.
 *
 * Why not a fresh copy per call: allocating a large ArrayBuffer is not cheap. Measured here (Node 20, a KVM
 * guest), a fresh 108 KiB Float32Array cost 330 µs, mostly page faults on newly zeroed memory and the
 * collections its external memory triggers, against 5 µs to copy into memory already mapped; a 1.6 ms CNN
 * run went to 4 ms on the worker.
 */
export class ReusedBuffers {
  readonly #buffers: ArrayBuffer[] = [];

  /** A view of `length` elements for `slot`, on memory the previous message for that slot used. */
  view<C extends ReturnType<typeof storageConstructor>>(slot: number, ctor: C, length: number): InstanceType<C> {
    const bytes = length * ctor.BYTES_PER_ELEMENT;
    let buffer = this.#buffers[slot];
    if (buffer === undefined || buffer.byteLength < bytes) {
      buffer = new ArrayBuffer(align8(Math.max(bytes, 8)));
      this.#buffers[slot] = buffer;
    }
    return new ctor(buffer, 0, length) as InstanceType<C>;
  }
}

/**
 * Decodes tensors from the start of `arena`. With `copy` the data is copied out of the arena: into fresh
 * (non-shared) buffers the caller owns when `copy` is true, or into `copy`'s reused memory (valid until the
 * next read into it); without it the tensors are views on the arena, valid until the arena is written again.
 */
export function readTensors(arena: SharedArrayBuffer, copy: boolean | ReusedBuffers): DecodedTensors {
  const head = new Int32Array(arena);
  let w = 1; // word 0 is the tag
  const count = head[w++] as number;
  const extraCount = head[w++] as number;
  const extra: number[] = [];
  for (let i = 0; i < extraCount; i++) extra.push(head[w++] as number);
  const tensors: SlotTensor[] = [];
  for (let i = 0; i < count; i++) {
    const slot = head[w++] as number;
    const dtype = NUMERIC[head[w++] as number] as DType;
    const rank = head[w++] as number;
    const byteOffset = head[w++] as number;
    const byteLength = head[w++] as number;
    const shape: number[] = [];
    for (let r = 0; r < rank; r++) shape.push(head[w++] as number);
    const ctor = storageConstructor(dtype as Exclude<DType, 'string'>);
    const length = byteLength / ctor.BYTES_PER_ELEMENT;
    const view = new ctor(arena, byteOffset, length);
    let data = view;
    if (copy === true) data = view.slice();
    else if (copy) {
      data = copy.view(slot, ctor, length);
      data.set(view as never);
    }
    tensors.push({ slot, tensor: { dtype, shape, data } });
  }
  return { tensors, extra };
}
