import { ModelshipError } from '../../errors/index.js';
import { Tensor } from '../../core/tensor.js';
import type { TensorSpec } from '../../spec/tensor.js';

/**
 * The classification extension (KServe v2 / Triton `extension_classification.md`): an output requested with
 * `parameters.classification: N` (Triton's name; `class_count` is KServe's) is answered as a BYTES tensor of
 * the top N entries, each `"<score>:<index>[:<label>]"`, highest score first. The score is printed as C++
 * `std::to_string` prints a float (six decimals), which is what Triton sends.
 */

/** Most classes one request may ask for: the answer is built in memory, so a client may not choose its size. */
export const MAX_CLASS_COUNT = 4096;

/** Reads the class count an output asks for, or undefined; a bad value is `INVALID_INPUT`. */
export function classCount(parameters: unknown, where: string): number | undefined {
  if (parameters === undefined || parameters === null) return undefined;
  if (typeof parameters !== 'object' || Array.isArray(parameters)) {
    throw new ModelshipError('INVALID_INPUT', `${where}.parameters must be an object.`);
  }
  const p = parameters as { classification?: unknown; class_count?: unknown };
  const value = p.classification ?? p.class_count;
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > MAX_CLASS_COUNT) {
    throw new ModelshipError(
      'INVALID_INPUT',
      `${where}.parameters.classification must be an integer from 1 to ${MAX_CLASS_COUNT} (how many top classes to return).`,
    );
  }
  return value as number;
}

/**
 * The labels for `output` in the model's metadata, when it has any: `labels` as an array of strings (for every
 * output), as an object mapping output names to such arrays, or as a string holding a JSON array or one label
 * per line (how registries that keep only string tags store them).
 */
export function labelsFor(metadata: Readonly<Record<string, unknown>>, output: string): readonly string[] | undefined {
  let labels: unknown = metadata.labels;
  if (typeof labels === 'string') {
    const text = labels.trim();
    try {
      labels = text.startsWith('[') ? JSON.parse(text) : text.split(/\r?\n/);
    } catch {
      return undefined;
    }
  }
  if (labels !== null && typeof labels === 'object' && !Array.isArray(labels)) {
    labels = Object.hasOwn(labels, output) ? (labels as Record<string, unknown>)[output] : undefined;
  }
  return Array.isArray(labels) && labels.every((l) => typeof l === 'string') ? labels : undefined;
}

/**
 * Classifies one output tensor: per row (first dimension) when the model's output has a dynamic first dimension
 * and at least two, else over the whole tensor. Answers a `string` tensor of shape `[rows, k]` or `[k]`, where
 * `k` is `count` or the number of classes, whichever is smaller.
 */
export function classify(
  name: string,
  tensor: Tensor,
  spec: TensorSpec | undefined,
  count: number,
  labels: readonly string[] | undefined,
): Tensor<'string'> {
  if (tensor.dtype === 'string') {
    throw new ModelshipError('INVALID_INPUT', `Output ${JSON.stringify(name)} holds strings and cannot be classified.`);
  }
  const values = tensor.toFlatArray() as Array<number | boolean>;
  const perRow = tensor.shape.length >= 2 && spec?.shape?.[0] === null;
  const rows = perRow ? (tensor.shape[0] as number) : 1;
  const classes = rows === 0 ? 0 : values.length / rows;
  const k = Math.min(count, classes);
  const out: string[] = [];
  const order: number[] = [];
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    order.length = 0;
    for (let c = 0; c < classes; c++) order.push(c);
    order.sort((a, b) => Number(values[base + b]) - Number(values[base + a]) || a - b);
    for (let j = 0; j < k; j++) {
      const c = order[j] as number;
      const label = labels?.[c];
      out.push(`${Number(values[base + c]).toFixed(6)}:${c}${label === undefined ? '' : `:${label}`}`);
    }
  }
  return new Tensor('string', out, perRow ? [rows, k] : [k]);
}
