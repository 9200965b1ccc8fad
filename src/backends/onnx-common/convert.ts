import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-common';
import { ModelshipError } from '../../errors/index.js';
import { isDType } from '../../core/dtype.js';
import type { DType, TensorLike, TensorSpec } from '../../spec/tensor.js';

/**
 * Turns onnxruntime's value metadata into a TensorSpec. onnxruntime reports a symbolic dimension as its name
 * (or "" when unnamed) and an undeclared shape as `[]`; since `[]` is also what a scalar looks like, it is
 * treated as "shape not declared" so no valid input is refused (the runtime still checks it).
 */
export function toTensorSpec(meta: InferenceSession.ValueMetadata, role: 'input' | 'output'): TensorSpec | undefined {
  if (!meta.isTensor) {
    if (role === 'input') {
      throw new ModelshipError(
        'MODEL_LOAD_FAILED',
        `Input "${meta.name}" is not a tensor (a sequence or map); modelship can only feed tensor inputs.`,
      );
    }
    return undefined; // e.g. a ZipMap output of a scikit-learn classifier: skipped, tensor outputs still served
  }
  if (!isDType(meta.type)) {
    throw new ModelshipError(
      'MODEL_LOAD_FAILED',
      `The model's ${role} "${meta.name}" has element type ${meta.type}, which modelship does not support yet.`,
    );
  }
  if (meta.shape.length === 0) return { name: meta.name, dtype: meta.type, shape: null };
  const shape = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : null));
  const dimNames = meta.shape.map((d) => (typeof d === 'string' && d !== '' ? d : null));
  return dimNames.some((n) => n !== null)
    ? { name: meta.name, dtype: meta.type, shape, dimNames }
    : { name: meta.name, dtype: meta.type, shape };
}

/** Wraps our tensor as an onnxruntime tensor without copying its data. */
export function toOrtTensor(ctor: typeof OrtTensor, t: TensorLike): OrtTensor {
  return new ctor(t.dtype as never, t.data as never, t.shape as number[]);
}

/** Reads an onnxruntime output back as a TensorLike (data is the runtime's own buffer, not copied). */
export function fromOrtTensor(name: string, value: unknown): TensorLike {
  const t = value as OrtTensor;
  if (!t || typeof t !== 'object' || !('type' in t) || !isDType(t.type)) {
    throw new ModelshipError('INFERENCE_FAILED', `Output "${name}" is not a tensor of a supported type.`);
  }
  return { dtype: t.type as DType, shape: [...t.dims], data: t.data as TensorLike['data'] };
}
