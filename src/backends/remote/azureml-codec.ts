import { toOipDatatype } from '../../core/oip-datatype.js';
import { ModelshipError } from '../../errors/index.js';
import type { ModelSignature } from '../../spec/tensor.js';

/** A tensor as the v2 codec builds and reads it. */
export interface FlatTensor {
  readonly name: string;
  readonly shape: number[];
  readonly datatype: string;
  readonly data: unknown[];
}

/** Deepest nesting of an answer value taken: ONNX tensors have at most a handful of dimensions. */
const MAX_DEPTH = 16;

/** A flat row-major tensor as nested arrays, batch first (`shape[0]` rows). */
function nested(t: FlatTensor): unknown[] {
  const nest = (data: unknown[], dims: number[]): unknown => {
    if (dims.length === 0) return data[0];
    const [d, ...inner] = dims as [number, ...number[]];
    const step = d === 0 ? 0 : data.length / d;
    return Array.from({ length: d }, (_, i) => nest(data.slice(i * step, (i + 1) * step), inner));
  };
  return nest(t.data, t.shape) as unknown[];
}

/** A nested value as its flat values and shape; UPSTREAM_ERROR when ragged, too deep, or not numbers/booleans. */
function flatten(value: unknown, where: string, depth = 0): { data: unknown[]; shape: number[] } {
  if (!Array.isArray(value)) {
    if (typeof value !== 'number' && typeof value !== 'boolean')
      throw new ModelshipError('UPSTREAM_ERROR', `${where} answered a prediction value that is not a number.`);
    return { data: [value], shape: [] };
  }
  if (depth >= MAX_DEPTH)
    throw new ModelshipError('UPSTREAM_ERROR', `${where} answered predictions nested deeper than ${MAX_DEPTH}.`);
  const parts = value.map((v) => flatten(v, where, depth + 1));
  const inner = parts[0]?.shape ?? [];
  if (parts.some((p) => p.shape.length !== inner.length || p.shape.some((d, i) => d !== inner[i])))
    throw new ModelshipError('UPSTREAM_ERROR', `${where} answered ragged predictions.`);
  return { data: parts.flatMap((p) => p.data), shape: [value.length, ...inner] };
}

/**
 * The `input_data` of an Azure ML MLflow scoring request: one input as a tensor (a JSON list, batch first), several
 * as named tensors (an object of lists). Azure's MLflow scoring script reads a list as a numpy array and an object
 * of lists as a dict of arrays ("Tensor input format as JSON-serialized lists (tensors) and dictionary of lists
 * (named tensors)", how-to-deploy-mlflow-models, "Input structure").
 */
export function mlflowRequest(inputs: readonly FlatTensor[]): { input_data: unknown } {
  if (inputs.length === 1) return { input_data: nested(inputs[0] as FlatTensor) };
  return { input_data: Object.fromEntries(inputs.map((t) => [t.name, nested(t)])) };
}

/**
 * An MLflow scoring answer as v2 outputs. The scoring script returns `_get_jsonable_obj(result, pandas_orient=
 * "records")`: a numpy array becomes a list (one output), a dict of arrays an object of lists (the ONNX flavor's
 * named outputs), a DataFrame a list of records (`[{output: value}, …]`). A batch-first output needs one row per
 * request row.
 */
export function mlflowOutputs(
  answer: unknown,
  signature: ModelSignature,
  wanted: readonly string[] | undefined,
  batch: number,
  where: string,
): { outputs: FlatTensor[] } {
  const names = wanted ?? signature.outputs.map((o) => o.name);
  const records =
    Array.isArray(answer) &&
    answer.length > 0 &&
    answer.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r));
  let byName: (name: string) => unknown;
  if (records) {
    byName = (name) => (answer as Record<string, unknown>[]).map((r) => (Object.hasOwn(r, name) ? r[name] : undefined));
  } else if (Array.isArray(answer)) {
    // A bare list is one tensor: it can only be the one output asked for.
    if (names.length !== 1)
      throw new ModelshipError(
        'UPSTREAM_ERROR',
        `${where} answered one unnamed tensor where ${names.length} outputs were expected; have the deployment return an object of named outputs.`,
      );
    byName = () => answer;
  } else if (answer !== null && typeof answer === 'object') {
    byName = (name) => (Object.hasOwn(answer, name) ? (answer as Record<string, unknown>)[name] : undefined);
  } else {
    throw new ModelshipError('UPSTREAM_ERROR', `${where} answered neither a list nor an object of predictions.`);
  }
  const outputs = names.map((name) => {
    const spec = signature.outputs.find((o) => o.name === name);
    if (spec === undefined) throw new ModelshipError('INVALID_ARGUMENT', `The endpoint has no output named ${name}.`);
    const value = byName(name);
    // A batch-first output (dynamic first dimension) has one row per request row; a fixed-shape one is as declared.
    const shape = spec.shape;
    const rows = shape === null || shape[0] === null ? batch : shape.length === 0 ? undefined : shape[0];
    if (
      value === undefined ||
      (rows !== undefined && (!Array.isArray(value) || value.length !== rows)) ||
      (records && Array.isArray(value) && value.some((v) => v === undefined))
    )
      throw new ModelshipError(
        'UPSTREAM_ERROR',
        `${where} answered without ${rows ?? 'the'} row(s) of the output ${JSON.stringify(name.slice(0, 64))}.`,
      );
    const flat = flatten(value, where);
    return { name, datatype: toOipDatatype(spec.dtype), shape: flat.shape, data: flat.data };
  });
  return { outputs };
}
