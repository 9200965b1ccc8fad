import { ModelshipError } from '../../errors/index.js';
import { clipName, quoteName } from '../../core/echo.js';
import { describe } from '../../core/input-elements.js';
import { MAX_RANK, type TensorInputObject } from '../../core/input.js';
import { formatShape } from '../../core/signature.js';
import type { Tensor } from '../../core/tensor.js';
import type { TensorSpec } from '../../spec/tensor.js';
import { fromOipDatatype, OIP_DATATYPES, toOipDatatype } from '../../core/oip-datatype.js';
import { decodeRawTensor } from './raw-tensor.js';

/** OIP metadata for one tensor: dynamic dimensions are -1, an undeclared shape is `[-1]`. */
export function toOipTensorMetadata(spec: TensorSpec): { name: string; datatype: string; shape: number[] } {
  return {
    name: spec.name,
    datatype: toOipDatatype(spec.dtype),
    shape: spec.shape === null ? [-1] : spec.shape.map((d) => d ?? -1),
  };
}

/** One OIP request input, after JSON parsing. */
interface OipInput {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown;
}

function bad(message: string): ModelshipError {
  return new ModelshipError('INVALID_INPUT', message);
}

/** `pixels.data[1][3]`: where `index` points in an input's nested `data`. */
function dataPath(name: string, index: readonly number[]): string {
  let path = `${clipName(name)}.data`;
  for (const k of index) path += `[${k}]`;
  return path;
}

/**
 * The values of `data` in row-major order. OIP allows `data` flat or nested; nested data must follow `shape`
 * exactly (every level as long as its dimension), so a ragged row is refused by name instead of shifting the
 * rows after it. Walks with an explicit stack: the depth is `shape.length`, which the caller has bounded.
 */
function rowMajor(name: string, data: unknown[], shape: readonly number[]): unknown[] {
  const rank = shape.length;
  // Flat: the length and each value are checked when the input is converted.
  if (rank === 0 || !Array.isArray(data[0])) return data;
  const out: unknown[] = [];
  const parents: unknown[][] = [];
  const index: number[] = [];
  let node: unknown = data;
  for (;;) {
    const level = parents.length;
    const want = shape[level] as number;
    if (!Array.isArray(node) || node.length !== want) {
      const got = Array.isArray(node) ? node.length : undefined;
      const expected = level === rank - 1 ? `${want} values` : `an array of ${want}`;
      const actual = got === undefined ? describe(node) : level === rank - 1 ? String(got) : `an array of ${got}`;
      throw bad(`${dataPath(name, index)}: expected ${expected}, got ${actual} (shape ${formatShape(shape)}).`);
    }
    if (level < rank - 1 && node.length > 0) {
      parents.push(node);
      index.push(0);
      node = node[0];
      continue;
    }
    if (level === rank - 1) {
      for (let j = 0; j < node.length; j++) {
        const v: unknown = node[j];
        if (Array.isArray(v)) {
          throw bad(
            `${dataPath(name, [...index, j])}: expected a value, got an array; data is nested deeper than shape ${formatShape(shape)}.`,
          );
        }
        out.push(v);
      }
    }
    // Next sibling of the nearest level that has one.
    for (;;) {
      const top = parents.length - 1;
      if (top < 0) return out;
      const k = (index[top] as number) + 1;
      const parent = parents[top] as unknown[];
      if (k < parent.length) {
        index[top] = k;
        node = parent[k];
        break;
      }
      parents.pop();
      index.pop();
    }
  }
}

/**
 * Converts an OIP `inputs` array into modelship tensor inputs keyed by name, checking each entry's form
 * and that its datatype is the one the model declares. The record has no prototype, so inputs named
 * `constructor` or `__proto__` are plain names.
 *
 * `blobs[i]`, when given, is the binary data of `inputs[i]` (the HTTP binary data extension's blob, or gRPC's
 * `raw_input_contents[i]`); that input must then have no `data`, and its bytes become a typed-array view
 * (see `decodeRawTensor`), never an element-by-element copy.
 */
export function decodeOipInputs(
  inputs: unknown,
  specs: readonly TensorSpec[],
  blobs?: ReadonlyArray<Uint8Array | undefined>,
): Record<string, TensorInputObject> {
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw bad('"inputs" must be a non-empty array of { name, shape, datatype, data }.');
  }
  const out = Object.create(null) as Record<string, TensorInputObject>;
  for (let i = 0; i < inputs.length; i++) {
    const raw: unknown = inputs[i];
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(`inputs[${i}] must be an object.`);
    const input = raw as Partial<OipInput>;
    if (typeof input.name !== 'string') throw bad(`inputs[${i}].name must be a string.`);
    const where = `inputs[${i}] (${quoteName(input.name)})`;
    const shape = input.shape;
    if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(`${where}.shape must be an array of at most ${MAX_RANK} non-negative integers.`);
    }
    const dtype = typeof input.datatype === 'string' ? fromOipDatatype(input.datatype) : undefined;
    if (dtype === undefined) {
      throw bad(`${where}.datatype must be one of ${OIP_DATATYPES.join(', ')}.`);
    }
    const bytes = blobs?.[i];
    if (bytes !== undefined && input.data !== undefined) {
      throw bad(`${where} has both "data" and binary data; send one of them.`);
    }
    if (bytes === undefined && !Array.isArray(input.data)) {
      throw bad(
        `${where}.data must be an array (flat or nested, row-major), or send the tensor as binary data (parameters.binary_data_size).`,
      );
    }
    if (Object.hasOwn(out, input.name)) throw bad(`${where}: input ${quoteName(input.name)} is given twice.`);
    const spec = specs.find((s) => s.name === input.name);
    if (spec && spec.dtype !== dtype) {
      throw bad(`${where}: the model expects datatype ${toOipDatatype(spec.dtype)}, got ${input.datatype}.`);
    }
    const data =
      bytes === undefined
        ? (rowMajor(input.name, input.data as unknown[], shape) as number[])
        : (decodeRawTensor(input.name, dtype, shape, bytes) as TensorInputObject['data']);
    out[input.name] = { data, shape, dtype };
  }
  return out;
}

/** Encodes one output tensor as an OIP response output (flat row-major `data`). */
export function encodeOipOutput(
  name: string,
  tensor: Tensor,
): { name: string; shape: number[]; datatype: string; data: unknown[] } {
  return { name, shape: [...tensor.shape], datatype: toOipDatatype(tensor.dtype), data: tensor.toFlatArray() };
}
