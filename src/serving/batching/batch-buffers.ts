import { storageConstructor } from '../../core/dtype.js';
import type { DType, TensorStorage } from '../../spec/tensor.js';

type NumericDType = Exclude<DType, 'string'>;
type NumericStorage = Exclude<TensorStorage, string[]>;

/** Buffers bigger than this are allocated per batch: their run dwarfs the allocation, and a spare would pin them. */
export const MAX_POOLED_BYTES = 16 * 1024 * 1024;

/**
 * Memory for the inputs of batches, reused from one batch to the next (why: docs/performance.md, "Batch memory
 * is reused"). Buffers are sized for a full batch (`capacityElements`), handed out as views of the length
 * needed, and taken back when the batch's run has settled; at most `maxSpare` wait per size (the batches that
 * can run at once).
 */
export class BatchBuffers {
  readonly #maxSpare: number;
  readonly #spare = new Map<number, ArrayBuffer[]>();

  constructor(maxSpare: number) {
    this.#maxSpare = maxSpare;
  }

  /** A zero-offset view of `length` elements of `dtype`, on a buffer of `capacityElements` elements. */
  take(dtype: NumericDType, length: number, capacityElements: number): NumericStorage {
    const ctor = storageConstructor(dtype);
    const bytes = Math.max(length, capacityElements) * ctor.BYTES_PER_ELEMENT;
    if (bytes > MAX_POOLED_BYTES) return new ctor(length);
    const buffer = this.#spare.get(bytes)?.pop() ?? new ArrayBuffer(bytes);
    return new ctor(buffer, 0, length);
  }

  /** Gives back what {@link take} handed out, once nothing reads it any more. */
  give(view: NumericStorage): void {
    const buffer = view.buffer;
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength > MAX_POOLED_BYTES) return;
    let list = this.#spare.get(buffer.byteLength);
    if (!list) {
      list = [];
      this.#spare.set(buffer.byteLength, list);
    }
    if (list.length < this.#maxSpare) list.push(buffer);
  }
}
