import { ModelshipError } from '../errors/index.js';
import type { DType, ModelSignature, TensorLike, TensorSpec, TensorStorage } from '../spec/tensor.js';
import { allocate, elementCount, isDType, storageMatches } from './dtype.js';
import { clipName, listNames as list, someNames } from './echo.js';
import { checkFinite, describe, elementError, elementWriter } from './input-elements.js';
import { fillNested } from './input-nested.js';
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
  /** Accept NaN and ±Infinity in float inputs (default false: `INVALID_INPUT`). */
  readonly allowNonFinite?: boolean;
}

/** Default for {@link InputLimits.maxRows}. */
export const DEFAULT_MAX_ROWS = 4096;

/**
 * Most dimensions an input may have (numpy's own limit). It bounds every walk over nested input, so no
 * client can choose how deep the conversion goes: 100,000 nested brackets are refused at the 65th.
 */
export const MAX_RANK = 64;

/** Sets `record[key]`, as an own property even for `__proto__` (plain assignment would set the prototype). */
function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__')
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

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
export function toFeeds(
  signature: ModelSignature,
  input: unknown,
  limits: InputLimits = {},
): Record<string, TensorLike> {
  const maxRows = limits.maxRows ?? DEFAULT_MAX_ROWS;
  const finite = limits.allowNonFinite !== true;
  // A one-input model given the value itself (the common case): no record to build and check.
  if (
    signature.inputs.length === 1 &&
    input !== undefined &&
    input !== null &&
    (!isObject(input) || isTensorObject(input))
  ) {
    const spec = signature.inputs[0] as TensorSpec;
    const feeds: Record<string, TensorLike> = {};
    setOwn(feeds, spec.name, toTensor(spec, input, maxRows, finite));
    return feeds;
  }
  const names = signature.inputs.map((s) => s.name);
  const byName = asRecord(signature, names, input);
  const unknown = Object.keys(byName).filter((k) => !names.includes(k));
  if (unknown.length > 0) {
    throw invalid(`Unknown input ${list(unknown)}; the model takes ${list(names)}.`, {
      unknown: someNames(unknown),
      unknownCount: unknown.length,
      expected: someNames(names),
    });
  }
  // Own properties only: `constructor` or `toString` must not be found on Object.prototype.
  const missing = names.filter((n) => !Object.hasOwn(byName, n) || byName[n] === undefined);
  if (missing.length > 0) {
    throw invalid(`Missing input ${list(missing)}; the model takes ${list(names)}.`, {
      missing: someNames(missing),
      expected: someNames(names),
    });
  }
  const feeds: Record<string, TensorLike> = {};
  for (const spec of signature.inputs) setOwn(feeds, spec.name, toTensor(spec, byName[spec.name], maxRows, finite));
  return feeds;
}

function asRecord(signature: ModelSignature, names: readonly string[], input: unknown): Record<string, unknown> {
  const single = signature.inputs.length === 1 ? signature.inputs[0] : undefined;
  if (isObject(input) && !isTensorObject(input)) return input;
  // An object whose keys are exactly the input names is a record, even if an input is called "data".
  if (isObject(input) && Object.keys(input).every((k) => names.includes(k)) && names.length > 1) return input;
  if (input === undefined || input === null) {
    throw invalid(`No inputs given; the model takes ${list(names)}.`, { expected: someNames(names) });
  }
  if (!single) {
    throw invalid(`The model has ${names.length} inputs (${list(names)}); pass an object keyed by input name.`, {
      expected: someNames(names),
    });
  }
  return { [single.name]: input };
}

function toTensor(spec: TensorSpec, value: unknown, maxRows: number, finite: boolean): TensorLike {
  if (isTensorObject(value)) return fromObject(spec, value, maxRows, finite);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView))
    return fromTypedArray(spec, value as TypedArray, maxRows, finite);
  if (Array.isArray(value)) return fromNested(spec, value, maxRows, finite);
  if (
    typeof value === 'number' ||
    typeof value === 'boolean' ||
    typeof value === 'string' ||
    typeof value === 'bigint'
  ) {
    checkShape(spec, [], maxRows);
    const data = allocate(spec.dtype, 1);
    if (!elementWriter(spec.dtype, !finite)(data, 0, value)) throw elementError(spec, spec.name, value);
    return { dtype: spec.dtype, shape: [], data };
  }
  throw invalid(`${spec.name}: expected an array, a typed array or { data, shape }, got ${describe(value)}.`, {
    input: spec.name,
  });
}

function fromObject(spec: TensorSpec, value: TensorInputObject, maxRows: number, finite: boolean): TensorLike {
  const { shape, data, dtype } = value;
  if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw invalid(`${spec.name}.shape: expected an array of at most ${MAX_RANK} non-negative integers.`, {
      input: spec.name,
    });
  }
  if (dtype !== undefined && (!isDType(dtype) || dtype !== spec.dtype)) {
    throw invalid(
      `${spec.name}: the model expects dtype ${spec.dtype}, got ${typeof dtype === 'string' ? clipName(dtype) : describe(dtype)}.`,
      {
        input: spec.name,
        expected: spec.dtype,
      },
    );
  }
  checkShape(spec, shape, maxRows);
  const count = elementCount(shape);
  if (!Array.isArray(data) && !(ArrayBuffer.isView(data) && !(data instanceof DataView))) {
    throw invalid(`${spec.name}.data: expected an array or a typed array, got ${describe(data)}.`, {
      input: spec.name,
    });
  }
  if (data.length !== count) {
    throw invalid(`${spec.name}: shape ${formatShape(shape)} needs ${count} values, got ${data.length}.`, {
      input: spec.name,
    });
  }
  // A plain array "matches" string storage, but its elements still have to be checked: convert it.
  if (storageMatches(spec.dtype, data) && spec.dtype !== 'string') {
    if (finite) checkFinite(spec, data as TensorStorage, '.data');
    return { dtype: spec.dtype, shape: [...shape], data: data as TensorStorage };
  }
  return { dtype: spec.dtype, shape: [...shape], data: fillFlat(spec, data, finite, '.data') };
}

function fromTypedArray(spec: TensorSpec, value: TypedArray, maxRows: number, finite: boolean): TensorLike {
  const shape = inferShapeForFlat(spec, value.length);
  checkShape(spec, shape, maxRows);
  if (!storageMatches(spec.dtype, value)) return { dtype: spec.dtype, shape, data: fillFlat(spec, value, finite, '') };
  if (finite) checkFinite(spec, value as TensorStorage, '');
  return { dtype: spec.dtype, shape, data: value as TensorStorage };
}

function inferShapeForFlat(spec: TensorSpec, length: number): number[] {
  const declared = spec.shape;
  if (declared === null || declared.length === 1) return [length];
  let per = 1;
  for (let i = 1; i < declared.length; i++) {
    const d = declared[i];
    if (d === null || d === undefined) {
      throw invalid(
        `${spec.name}: a flat typed array is ambiguous for shape ${formatShape(declared)}; pass { data, shape }.`,
        {
          input: spec.name,
        },
      );
    }
    per *= d;
  }
  if (per > 0 && length % per === 0) {
    const shape = declared.slice() as number[];
    shape[0] = length / per;
    return shape;
  }
  throw invalid(
    `${spec.name}: ${length} values do not fill rows of ${formatShape(declared.slice(1))} (${per} values each).`,
    {
      input: spec.name,
    },
  );
}

function fromNested(spec: TensorSpec, value: unknown[], maxRows: number, finite: boolean): TensorLike {
  const shape: number[] = [];
  let probe: unknown = value;
  while (Array.isArray(probe)) {
    if (shape.length === MAX_RANK) {
      throw invalid(`${spec.name}: nested more than ${MAX_RANK} levels deep; no input has that many dimensions.`, {
        input: spec.name,
        limit: MAX_RANK,
      });
    }
    shape.push(probe.length);
    probe = probe[0];
  }
  checkShape(spec, shape, maxRows);
  const data = allocate(spec.dtype, elementCount(shape));
  if (shape.length === 0) return { dtype: spec.dtype, shape, data };
  fillNested({ spec, data, shape, write: elementWriter(spec.dtype, !finite), finite, index: [] }, value, 0, 0);
  return { dtype: spec.dtype, shape, data };
}

function checkShape(spec: TensorSpec, shape: readonly number[], maxRows: number): void {
  const declared = spec.shape;
  if (shape.length > MAX_RANK) {
    throw invalid(`${spec.name}: rank ${shape.length} is more than the limit of ${MAX_RANK}.`, {
      input: spec.name,
      limit: MAX_RANK,
    });
  }
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

function fillFlat(spec: TensorSpec, values: ArrayLike<unknown>, finite: boolean, field: '' | '.data'): TensorStorage {
  const data = allocate(spec.dtype, values.length);
  const write = elementWriter(spec.dtype, !finite);
  for (let i = 0; i < values.length; i++) {
    if (!write(data, i, values[i])) throw elementError(spec, `${spec.name}${field}[${i}]`, values[i]);
  }
  return data;
}
