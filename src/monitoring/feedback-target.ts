import type { ModelSignature, TensorLike } from '../spec/tensor.js';
import { rowsOf } from './features.js';

/** The output a label is compared with, and how. */
export interface Target {
  readonly output: string;
  readonly task: 'classification' | 'regression';
}

export function targetOf(
  signature: ModelSignature,
  output: string | undefined,
  task: Target['task'] | undefined,
): Target | undefined {
  const integer = (d: string): boolean => d.startsWith('int') || d.startsWith('uint');
  const spec =
    (output !== undefined ? signature.outputs.find((o) => o.name === output) : undefined) ??
    (output === undefined
      ? (signature.outputs.find((o) => integer(o.dtype) && (o.shape?.length ?? 1) <= 2) ??
        signature.outputs.find((o) => o.dtype.startsWith('float')))
      : undefined);
  if (spec === undefined) return undefined;
  const perRow = spec.shape === null ? undefined : spec.shape.slice(1).reduce<number>((a, d) => a * (d ?? 1), 1);
  return {
    output: spec.name,
    task: task ?? (integer(spec.dtype) || (perRow ?? 2) > 1 ? 'classification' : 'regression'),
  };
}

/** The answer of row `row` of `t` as one number: the value, or the index of the largest score. */
export function answerOf(t: TensorLike, row: number): number {
  const width = t.data.length / rowsOf(t);
  const data = t.data as ArrayLike<number | bigint>;
  if (width === 1) return Number(data[row]);
  let best = 0;
  for (let j = 1; j < width; j++) if (Number(data[row * width + j]) > Number(data[row * width + best])) best = j;
  return best;
}
