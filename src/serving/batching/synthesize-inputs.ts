import { allocate, elementCount } from '../../core/dtype.js';
import type { ModelSignature, TensorLike } from '../../spec/tensor.js';

/**
 * Inputs synthesized from the signature with `rows` in the first dynamic dimension and 1 in the others, or
 * undefined when a rank is unknown. Warm-up and the batch-gain measurement use them when no input is given.
 */
export function synthesizeInputs(signature: ModelSignature, rows: number): Record<string, TensorLike> | undefined {
  const feeds: Record<string, TensorLike> = {};
  for (const spec of signature.inputs) {
    if (spec.shape === null) return undefined;
    const shape = spec.shape.map((d, i) => d ?? (i === 0 ? rows : 1));
    feeds[spec.name] = { dtype: spec.dtype, shape, data: allocate(spec.dtype, elementCount(shape)) };
  }
  return feeds;
}
