import { ModelshipError } from '../errors/index.js';
import type { TensorInputObject } from './input.js';
import type { Tensor } from './tensor.js';
import type { DType, TensorSpec } from '../spec/tensor.js';

/** Open Inference Protocol (KServe v2) datatype names by modelship dtype. */
const TO_OIP: Record<DType, string> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};

const FROM_OIP = new Map(Object.entries(TO_OIP).map(([k, v]) => [v, k as DType]));

/** The OIP datatype for a dtype (`float32` → `FP32`). */
export function toOipDatatype(dtype: DType): string {
  return TO_OIP[dtype];
}

/** The dtype for an OIP datatype (`FP32` → `float32`), or undefined for one modelship does not know. */
export function fromOipDatatype(datatype: string): DType | undefined {
  return FROM_OIP.get(datatype);
}

/** OIP metadata for one tensor: dynamic dimensions are -1, an undeclared shape is `[-1]`. */
export function toOipTensorMetadata(spec: TensorSpec): { name: string; datatype: string; shape: number[] } {
  return { name: spec.name, datatype: TO_OIP[spec.dtype], shape: spec.shape === null ? [-1] : spec.shape.map((d) => d ?? -1) };
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

/** Flattens nested `data` (OIP allows both flat and nested row-major arrays). */
function flatten(data: unknown[], out: unknown[] = []): unknown[] {
  for (const v of data) {
    if (Array.isArray(v)) flatten(v, out);
    else out.push(v);
  }
  return out;
}

/**
 * Converts an OIP `inputs` array into modelship tensor inputs keyed by name, checking each entry's form
 * and that its datatype is the one the model declares.
 */
export function decodeOipInputs(inputs: unknown, specs: readonly TensorSpec[]): Record<string, TensorInputObject> {
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw bad('"inputs" must be a non-empty array of { name, shape, datatype, data }.');
  }
  const out: Record<string, TensorInputObject> = {};
  inputs.forEach((raw: unknown, i) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(`inputs[${i}] must be an object.`);
    const input = raw as Partial<OipInput>;
    if (typeof input.name !== 'string') throw bad(`inputs[${i}].name must be a string.`);
    const where = `inputs[${i}] ("${input.name}")`;
    if (!Array.isArray(input.shape) || !input.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(`${where}.shape must be an array of non-negative integers.`);
    }
    if (typeof input.datatype !== 'string' || !FROM_OIP.has(input.datatype)) {
      throw bad(`${where}.datatype must be one of ${[...FROM_OIP.keys()].join(', ')}.`);
    }
    if (!Array.isArray(input.data)) {
      throw bad(`${where}.data must be an array (flat or nested, row-major); binary data is not supported.`);
    }
    if (out[input.name] !== undefined) throw bad(`${where}: input "${input.name}" is given twice.`);
    const dtype = FROM_OIP.get(input.datatype) as DType;
    const spec = specs.find((s) => s.name === input.name);
    if (spec && spec.dtype !== dtype) {
      throw bad(`${where}: the model expects datatype ${TO_OIP[spec.dtype]}, got ${input.datatype}.`);
    }
    out[input.name] = { data: flatten(input.data) as number[], shape: input.shape, dtype };
  });
  return out;
}

/** Encodes one output tensor as an OIP response output (flat row-major `data`). */
export function encodeOipOutput(name: string, tensor: Tensor): { name: string; shape: number[]; datatype: string; data: unknown[] } {
  return { name, shape: [...tensor.shape], datatype: TO_OIP[tensor.dtype], data: tensor.toFlatArray() };
}
