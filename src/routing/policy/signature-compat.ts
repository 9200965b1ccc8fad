import type { ModelSignature, TensorSpec } from '../../spec/tensor.js';
import { formatShape } from '../../core/signature.js';

function shapesCompatible(a: TensorSpec['shape'], b: TensorSpec['shape']): boolean {
  if (a === null || b === null) return true;
  if (a.length !== b.length) return false;
  return a.every((d, i) => d === null || b[i] === null || d === b[i]);
}

/**
 * Why `next` cannot take over from `current` without breaking callers: every input `current` takes must be
 * taken by `next` with the same dtype and a compatible shape (no new required inputs), and every output
 * `current` gives must still be given. Empty when compatible.
 */
export function signatureIncompatibilities(current: ModelSignature, next: ModelSignature): string[] {
  const problems: string[] = [];
  const nextInputs = new Map(next.inputs.map((s) => [s.name, s]));
  for (const spec of current.inputs) {
    const other = nextInputs.get(spec.name);
    if (other === undefined) problems.push(`input "${spec.name}" is missing`);
    else if (other.dtype !== spec.dtype) problems.push(`input "${spec.name}" is ${other.dtype}, was ${spec.dtype}`);
    else if (!shapesCompatible(spec.shape, other.shape))
      problems.push(`input "${spec.name}" has shape ${formatShape(other.shape)}, was ${formatShape(spec.shape)}`);
  }
  const currentInputs = new Set(current.inputs.map((s) => s.name));
  for (const spec of next.inputs) if (!currentInputs.has(spec.name)) problems.push(`input "${spec.name}" is new`);
  const nextOutputs = new Map(next.outputs.map((s) => [s.name, s]));
  for (const spec of current.outputs) {
    const other = nextOutputs.get(spec.name);
    if (other === undefined) problems.push(`output "${spec.name}" is missing`);
    else if (other.dtype !== spec.dtype) problems.push(`output "${spec.name}" is ${other.dtype}, was ${spec.dtype}`);
    else if (!shapesCompatible(spec.shape, other.shape))
      problems.push(`output "${spec.name}" has shape ${formatShape(other.shape)}, was ${formatShape(spec.shape)}`);
  }
  return problems;
}
