import { ModelshipError } from '../errors/index.js';
import type { DType, ModelSignature, TensorLike, TensorSpec, TensorStorage } from '../spec/tensor.js';
import { allocate, elementCount, integerRange, isDType, storageMatches, toFloat16Bits } from './dtype.js';
import type { NestedArray } from './tensor.js';
import { formatShape } from './signature.js';

/** A typed array modelship accepts as tensor data. */
export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

/** Explicit tensor data: flat values (or a typed array) plus a shape, optionally a dtype to check against. */
export interface TensorInputObject {
  readonly data: TypedArray | ReadonlyArray<number | bigint | boolean | string>;
  readonly shape: readonly number[];
  readonly dtype?: DType;
}

/** One input value: nested arrays, a typed array (shape inferred), a scalar, or `{ data, shape }`. */
export type TensorInput = NestedArray | TypedArray | TensorInputObject | TensorLike | bigint;

/** What `predict` accepts: inputs by name, or the value of the only input for one-input models. */
export type PredictInput = Readonly<Record<string, TensorInput>> | TensorInput;

/** Limits applied while converting inputs. */
export interface InputLimits {
  /** Largest first dimension accepted for an input whose first dimension is dynamic. */
  readonly maxRows?: number;
}

/** Default for {@link InputLimits.maxRows}. */
export const DEFAULT_MAX_ROWS = 4096;

function invalid(message: string, details: Record<string, unknown> = {}): ModelshipError {
  return new ModelshipError('INVALID_INPUT', message, { details });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

function isTensorObject(value: unknown): value is TensorInputObject {
  return isObject(value) && 'data' in value && 'shape' in value;
}

/**
 * Validates `input` against the model signature and converts it to tensors, before anything reaches a runtime.
 * Every failure is an `INVALID_INPUT` error whose message names the input and the offending path,
 * for example `pixels[3][17]: expected number, got "x"`.
 */
export function toFeeds(signature: ModelSignature, input: unknown, limits: InputLimits = {}): Record<string, TensorLike> {
  const maxRows = limits.maxRows ?? DEFAULT_MAX_ROWS;
  // A one-input model given the value itself (the common case): no record to build and check.
  if (signature.inputs.length === 1 && input !== undefined && input !== null && (!isObject(input) || isTensorObject(input))) {
    const spec = signature.inputs[0] as TensorSpec;
    const feeds: Record<string, TensorLike> = {};
    feeds[spec.name] = toTensor(spec, input, maxRows);
    return feeds;
  }
  const names = signature.inputs.map((s) => s.name);
  const byName = asRecord(signature, names, input);
  const unknown = Object.keys(byName).filter((k) => !names.includes(k));
  if (unknown.length > 0) {
    throw invalid(`Unknown input ${list(unknown)}; the model takes ${list(names)}.`, {
      unknown,
      expected: names,
    });
  }
  const missing = names.filter((n) => byName[n] === undefined);
  if (missing.length > 0) {
    throw invalid(`Missing input ${list(missing)}; the model takes ${list(names)}.`, {
      missing,
      expected: names,
    });
  }
  const feeds: Record<string, TensorLike> = {};
  for (const spec of signature.inputs) feeds[spec.name] = toTensor(spec, byName[spec.name], maxRows);
  return feeds;
}

function list(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}

function asRecord(signature: ModelSignature, names: readonly string[], input: unknown): Record<string, unknown> {
  const single = signature.inputs.length === 1 ? signature.inputs[0] : undefined;
  if (isObject(input) && !isTensorObject(input)) return input;
  // An object whose keys are exactly the input names is a record, even if an input is called "data".
  if (isObject(input) && Object.keys(input).every((k) => names.includes(k)) && names.length > 1) return input;
  if (input === undefined || input === null) {
    throw invalid(`No inputs given; the model takes ${list(names)}.`, { expected: names });
  }
  if (!single) {
    throw invalid(`The model has ${names.length} inputs (${list(names)}); pass an object keyed by input name.`, {
      expected: names,
    });
  }
  return { [single.name]: input };
}

function toTensor(spec: TensorSpec, value: unknown, maxRows: number): TensorLike {
  if (isTensorObject(value)) return fromObject(spec, value, maxRows);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return fromTypedArray(spec, value as TypedArray, maxRows);
  if (Array.isArray(value)) return fromNested(spec, value, maxRows);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string' || typeof value === 'bigint') {
    checkShape(spec, [], maxRows);
    const data = allocate(spec.dtype, 1);
    if (!elementWriter(spec.dtype)(data, 0, value)) throw elementError(spec, spec.name, value);
    return { dtype: spec.dtype, shape: [], data };
  }
  throw invalid(`${spec.name}: expected an array, a typed array or { data, shape }, got ${describe(value)}.`, {
    input: spec.name,
  });
}

function fromObject(spec: TensorSpec, value: TensorInputObject, maxRows: number): TensorLike {
  const { shape, data, dtype } = value;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw invalid(`${spec.name}.shape: expected an array of non-negative integers.`, { input: spec.name });
  }
  if (dtype !== undefined && (!isDType(dtype) || dtype !== spec.dtype)) {
    throw invalid(`${spec.name}: the model expects dtype ${spec.dtype}, got ${String(dtype)}.`, {
      input: spec.name,
      expected: spec.dtype,
    });
  }
  checkShape(spec, shape, maxRows);
  const count = elementCount(shape);
  if (!Array.isArray(data) && !(ArrayBuffer.isView(data) && !(data instanceof DataView))) {
    throw invalid(`${spec.name}.data: expected an array or a typed array, got ${describe(data)}.`, { input: spec.name });
  }
  if (data.length !== count) {
    throw invalid(`${spec.name}: shape ${formatShape(shape)} needs ${count} values, got ${data.length}.`, {
      input: spec.name,
    });
  }
  if (storageMatches(spec.dtype, data)) return { dtype: spec.dtype, shape: [...shape], data: data as TensorStorage };
  return { dtype: spec.dtype, shape: [...shape], data: fillFlat(spec, data, (i) => `${spec.name}.data[${i}]`) };
}

function fromTypedArray(spec: TensorSpec, value: TypedArray, maxRows: number): TensorLike {
  const shape = inferShapeForFlat(spec, value.length);
  checkShape(spec, shape, maxRows);
  const data = storageMatches(spec.dtype, value) ? (value as TensorStorage) : fillFlat(spec, value, (i) => `${spec.name}[${i}]`);
  return { dtype: spec.dtype, shape, data };
}

function inferShapeForFlat(spec: TensorSpec, length: number): number[] {
  const declared = spec.shape;
  if (declared === null || declared.length === 1) return [length];
  let per = 1;
  for (let i = 1; i < declared.length; i++) {
    const d = declared[i];
    if (d === null || d === undefined) {
      throw invalid(`${spec.name}: a flat typed array is ambiguous for shape ${formatShape(declared)}; pass { data, shape }.`, {
        input: spec.name,
      });
    }
    per *= d;
  }
  if (per > 0 && length % per === 0) {
    const shape = declared.slice() as number[];
    shape[0] = length / per;
    return shape;
  }
  throw invalid(`${spec.name}: ${length} values do not fill rows of ${formatShape(declared.slice(1))} (${per} values each).`, {
    input: spec.name,
  });
}

function fromNested(spec: TensorSpec, value: unknown[], maxRows: number): TensorLike {
  const shape: number[] = [];
  let probe: unknown = value;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  checkShape(spec, shape, maxRows);
  const data = allocate(spec.dtype, elementCount(shape));
  if (shape.length === 0) return { dtype: spec.dtype, shape, data };
  fillNested({ spec, data, shape, write: elementWriter(spec.dtype), index: [] }, value, 0, 0);
  return { dtype: spec.dtype, shape, data };
}

/** What {@link fillNested} carries down the levels of one nested array. */
interface NestedFill {
  readonly spec: TensorSpec;
  readonly data: TensorStorage;
  readonly shape: readonly number[];
  readonly write: ElementWriter;
  /** Indexes of the enclosing levels, for error paths. */
  readonly index: number[];
}

/** `x[2][5]`: the path of element `i` under the current `index`. */
function nestedPath(fill: NestedFill, i: number): string {
  return `${fill.spec.name}${fill.index.map((k) => `[${k}]`).join('')}[${i}]`;
}

/**
 * Writes the leaves of `node` (the level `axis` of a nested array) into `fill.data` from `offset`; returns the
 * offset after them. This is the hot loop of every JSON prediction: one function V8 optimizes once (not
 * closures made per call), and float rows are copied without a writer call per element.
 */
function fillNested(fill: NestedFill, node: unknown[], axis: number, offset: number): number {
  const { data, shape } = fill;
  if (axis === shape.length - 1) {
    if (data instanceof Float32Array || data instanceof Float64Array) {
      for (let i = 0; i < node.length; i++) {
        const v = node[i];
        if (typeof v !== 'number') throw elementError(fill.spec, nestedPath(fill, i), v);
        data[offset++] = v;
      }
      return offset;
    }
    for (let i = 0; i < node.length; i++) {
      if (!fill.write(data, offset, node[i])) throw elementError(fill.spec, nestedPath(fill, i), node[i]);
      offset++;
    }
    return offset;
  }
  const want = shape[axis + 1] as number;
  for (let i = 0; i < node.length; i++) {
    const item = node[i];
    if (!Array.isArray(item) || item.length !== want) {
      const got = Array.isArray(item) ? `an array of ${item.length}` : describe(item);
      throw invalid(`${nestedPath(fill, i)}: expected an array of ${want} (like ${nestedPath(fill, 0)}), got ${got}.`, {
        input: fill.spec.name,
        path: nestedPath(fill, i),
      });
    }
    fill.index.push(i);
    offset = fillNested(fill, item, axis + 1, offset);
    fill.index.pop();
  }
  return offset;
}

function checkShape(spec: TensorSpec, shape: readonly number[], maxRows: number): void {
  const declared = spec.shape;
  if (declared !== null) {
    if (declared.length !== shape.length) {
      const hint =
        shape.length + 1 === declared.length && declared[0] === null
          ? ' For a single example, wrap it in an array to make a batch of one.'
          : '';
      throw invalid(
        `${spec.name}: expected rank ${declared.length} ${formatShape(declared)}, got rank ${shape.length} ${formatShape(shape)}.${hint}`,
        { input: spec.name, expected: declared, got: shape },
      );
    }
    for (let axis = 0; axis < declared.length; axis++) {
      const d = declared[axis];
      if (d !== null && d !== shape[axis]) {
        throw invalid(
          `${spec.name}: dimension ${axis} must be ${d} (shape ${formatShape(declared)}), got ${shape[axis]}.`,
          { input: spec.name, expected: declared, got: shape },
        );
      }
    }
  }
  const rows = shape[0];
  if (rows !== undefined && (declared === null || declared[0] === null) && rows > maxRows) {
    throw invalid(`${spec.name}: ${rows} rows is more than the limit of ${maxRows}; split the request.`, {
      input: spec.name,
      limit: maxRows,
    });
  }
}

function fillFlat(spec: TensorSpec, values: ArrayLike<unknown>, path: (i: number) => string): TensorStorage {
  const data = allocate(spec.dtype, values.length);
  const write = elementWriter(spec.dtype);
  for (let i = 0; i < values.length; i++) {
    if (!write(data, i, values[i])) throw elementError(spec, path(i), values[i]);
  }
  return data;
}

function expected(dtype: DType): string {
  if (dtype === 'bool') return 'boolean';
  if (dtype === 'string') return 'string';
  const range = integerRange(dtype);
  return range ? `integer (${dtype})` : 'number';
}

/** Writes one value into typed storage at `i`; returns false (writing nothing) when the value does not fit. */
type ElementWriter = (data: TensorStorage, i: number, v: unknown) => boolean;

const INT64_MIN = -(2n ** 63n);
const INT64_END = 2n ** 63n;
const UINT64_END = 2n ** 64n;

function toBigInt(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v;
  return typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined;
}

function elementWriter(dtype: DType): ElementWriter {
  switch (dtype) {
    case 'float32':
    case 'float64':
      return (d, i, v) => typeof v === 'number' && (((d as Float32Array)[i] = v), true);
    case 'float16':
      return (d, i, v) => typeof v === 'number' && (((d as Uint16Array)[i] = toFloat16Bits(v)), true);
    case 'bool':
      return (d, i, v) => {
        if (typeof v === 'boolean') (d as Uint8Array)[i] = v ? 1 : 0;
        else if (v === 0 || v === 1) (d as Uint8Array)[i] = v;
        else return false;
        return true;
      };
    case 'string':
      return (d, i, v) => typeof v === 'string' && (((d as string[])[i] = v), true);
    case 'int64':
      return (d, i, v) => {
        const big = toBigInt(v);
        if (big === undefined || big < INT64_MIN || big >= INT64_END) return false;
        (d as BigInt64Array)[i] = big;
        return true;
      };
    case 'uint64':
      return (d, i, v) => {
        const big = toBigInt(v);
        if (big === undefined || big < 0n || big >= UINT64_END) return false;
        (d as BigUint64Array)[i] = big;
        return true;
      };
    default: {
      const [lo, hi] = integerRange(dtype) as readonly [number, number];
      return (d, i, v) => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi && (((d as Int32Array)[i] = v), true);
    }
  }
}

function elementError(spec: TensorSpec, path: string, v: unknown): ModelshipError {
  return invalid(`${path}: expected ${expected(spec.dtype)}, got ${describe(v)}.`, { input: spec.name, path });
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (Array.isArray(v)) return 'an array';
  return `an ${typeof v}`;
}
