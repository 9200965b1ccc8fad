import { allocate } from '../../core/dtype.js';
import { Tensor } from '../../core/tensor.js';
import type { BatchBuffers } from './batch-buffers.js';
import type { ModelSignature, TensorLike, TensorStorage } from '../../spec/tensor.js';

/**
 * Joining requests along dimension 0 and splitting the results back. Only models whose every input and
 * output declares a dynamic first dimension are batched, and only requests whose inputs agree on every other
 * dimension share a batch (the batch key), as in Triton's dynamic batcher.
 */

/** True when the signature allows concatenating requests along dimension 0. */
export function isBatchable(signature: ModelSignature): boolean {
  const dynamicFirst = (shape: ReadonlyArray<number | null> | null): boolean =>
    shape !== null && shape.length > 0 && shape[0] === null;
  return (
    signature.inputs.length > 0 &&
    signature.outputs.length > 0 &&
    signature.inputs.every((s) => dynamicFirst(s.shape)) &&
    signature.outputs.every((s) => dynamicFirst(s.shape))
  );
}

/**
 * The rows of a request and the key of requests it can share a batch with, or undefined when its inputs do
 * not agree on dimension 0 (it then runs alone).
 */
export function batchKey(
  feeds: Readonly<Record<string, TensorLike>>,
  outputs: readonly string[] | undefined,
): { rows: number; key: string } | undefined {
  let rows = -1;
  // JSON, not a join: ["y,label"] and ["y", "label"] (or [] and none) must not share a batch, which runs with
  // the first request's selection.
  let key = outputs ? JSON.stringify(outputs) : '*';
  for (const name in feeds) {
    const shape = (feeds[name] as TensorLike).shape;
    if (shape.length === 0) return undefined;
    if (rows === -1) rows = shape[0] as number;
    else if (shape[0] !== rows) return undefined;
    key += '|';
    for (let i = 1; i < shape.length; i++) key += `${shape[i]},`;
  }
  return rows === -1 ? undefined : { rows, key };
}

function rowStride(t: TensorLike): number {
  let stride = 1;
  for (let i = 1; i < t.shape.length; i++) stride *= t.shape[i] as number;
  return stride;
}

/**
 * Concatenates the feeds of several requests (same key) along dimension 0. With `buffers`, numeric inputs are
 * written into reused memory sized for `capacityRows` rows (give it back with {@link releaseFeeds}).
 */
export function concatFeeds(
  parts: ReadonlyArray<Readonly<Record<string, TensorLike>>>,
  totalRows: number,
  buffers?: BatchBuffers,
  capacityRows = totalRows,
): Record<string, TensorLike> {
  const first = parts[0] as Readonly<Record<string, TensorLike>>;
  const out: Record<string, TensorLike> = {};
  for (const name in first) {
    const model = first[name] as TensorLike;
    const stride = rowStride(model);
    const shape = model.shape.slice();
    shape[0] = totalRows;
    if (model.dtype === 'string') {
      const data: string[] = [];
      for (const p of parts) data.push(...((p[name] as TensorLike).data as string[]));
      out[name] = { dtype: model.dtype, shape, data };
      continue;
    }
    const data = buffers
      ? buffers.take(model.dtype, totalRows * stride, capacityRows * stride)
      : (allocate(model.dtype, totalRows * stride) as Exclude<TensorStorage, string[]>);
    let offset = 0;
    for (const p of parts) {
      const src = (p[name] as TensorLike).data as typeof data;
      (data as Float32Array).set(src as Float32Array, offset);
      offset += src.length;
    }
    out[name] = { dtype: model.dtype, shape, data };
  }
  return out;
}

/** Returns the memory of feeds made by {@link concatFeeds} with `buffers`, once their run has settled. */
export function releaseFeeds(feeds: Readonly<Record<string, TensorLike>>, buffers: BatchBuffers): void {
  for (const name in feeds) {
    const t = feeds[name] as TensorLike;
    if (t.dtype !== 'string') buffers.give(t.data as Exclude<TensorStorage, string[]>);
  }
}

/**
 * Rows `[start, start + count)` of a tensor, sharing its memory where the storage allows. A `Tensor`, so that
 * what is handed back to a caller needs no second wrapper.
 */
export function sliceRows(t: TensorLike, start: number, count: number): Tensor {
  const stride = rowStride(t);
  const from = start * stride;
  const to = from + count * stride;
  const data = Array.isArray(t.data) ? t.data.slice(from, to) : (t.data as Float32Array).subarray(from, to);
  const shape = t.shape.slice();
  shape[0] = count;
  return new Tensor(t.dtype, data as TensorStorage, shape);
}

/** Rows `[start, start + count)` of every feed. */
export function sliceFeeds(
  feeds: Readonly<Record<string, TensorLike>>,
  start: number,
  count: number,
): Record<string, TensorLike> {
  const out: Record<string, TensorLike> = {};
  for (const name in feeds) out[name] = sliceRows(feeds[name] as TensorLike, start, count);
  return out;
}

/** True when every output has `rows` rows, so it can be split back per request. */
export function outputsSplittable(outputs: Readonly<Record<string, TensorLike>>, rows: number): boolean {
  for (const name in outputs) {
    const shape = (outputs[name] as TensorLike).shape;
    if (shape.length === 0 || shape[0] !== rows) return false;
  }
  return true;
}
