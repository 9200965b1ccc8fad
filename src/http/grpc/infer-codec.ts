import { elementCount } from '../../core/dtype.js';
import { quoteName } from '../../core/echo.js';
import { fromOipDatatype, toOipDatatype } from '../../core/oip-datatype.js';
import { ModelshipError } from '../../errors/index.js';
import type { DType } from '../../spec/tensor.js';
import type { OipInferRequest, OipInferResponse, OipOutputTensor } from '../oip/infer-request.js';
import { encodeRawTensor } from '../oip/raw-tensor.js';

/** `InferTensorContents` as proto-loader gives it (field names as in the `.proto`). */
export interface GrpcTensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: number[];
  uint_contents?: number[];
  uint64_contents?: number[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

/** `ModelInferRequest.InferInputTensor`. */
export interface GrpcInferInput {
  name?: string;
  datatype?: string;
  shape?: number[];
  parameters?: Record<string, GrpcParameter>;
  contents?: GrpcTensorContents | null;
}

/** `ModelInferRequest` as received. */
export interface GrpcInferRequest {
  model_name?: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, GrpcParameter>;
  inputs?: GrpcInferInput[];
  outputs?: Array<{ name?: string; parameters?: Record<string, GrpcParameter> }>;
  raw_input_contents?: Uint8Array[];
}

/** `ModelInferResponse` as sent. */
export interface GrpcInferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: GrpcInferOutput[];
  raw_output_contents: Uint8Array[];
}

/** `ModelInferResponse.InferOutputTensor` as sent. */
export interface GrpcInferOutput {
  name: string;
  datatype: string;
  shape: number[];
  contents?: GrpcTensorContents;
}

function bad(message: string): ModelshipError {
  return new ModelshipError('INVALID_INPUT', message);
}

/** The typed `contents` field each datatype travels in (FP16 has none: raw contents only). */
const CONTENTS_FIELD: Record<DType, keyof GrpcTensorContents | undefined> = {
  bool: 'bool_contents',
  int8: 'int_contents',
  int16: 'int_contents',
  int32: 'int_contents',
  int64: 'int64_contents',
  uint8: 'uint_contents',
  uint16: 'uint_contents',
  uint32: 'uint_contents',
  uint64: 'uint64_contents',
  float16: undefined,
  float32: 'fp32_contents',
  float64: 'fp64_contents',
  string: 'bytes_contents',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

function textElements(where: string, values: readonly Uint8Array[]): string[] {
  return values.map((v, i) => {
    try {
      return utf8.decode(v);
    } catch {
      throw bad(`${where}.contents.bytes_contents[${i}] is not valid UTF-8 text.`);
    }
  });
}

/** The values of one input sent in `contents`, checked against its datatype and shape. */
function fromContents(where: string, dtype: DType, count: number, contents: GrpcTensorContents | null | undefined) {
  const field = CONTENTS_FIELD[dtype];
  if (field === undefined) {
    throw bad(`${where}: ${toOipDatatype(dtype)} has no typed contents field; send it in raw_input_contents.`);
  }
  const values = contents?.[field];
  if (values === undefined || values.length === 0) {
    if (count === 0) return [];
    throw bad(`${where}: no values in contents.${field} (and no raw_input_contents in the request).`);
  }
  if (values.length !== count) {
    throw bad(`${where}: the shape needs ${count} values, contents.${field} has ${values.length}.`);
  }
  return field === 'bytes_contents' ? textElements(where, values as Uint8Array[]) : (values as number[]);
}

/** `InferParameter`: one of its oneof fields, named by `parameter_choice` (proto-loader's `oneofs`). */
interface GrpcParameter {
  parameter_choice?: string;
  [field: string]: unknown;
}

/** A parameter map as plain values (`{ binary_data: true }`), as the OIP core reads them from JSON. */
function plainParameters(map: Record<string, GrpcParameter> | undefined): Record<string, unknown> | undefined {
  if (map === undefined) return undefined;
  const keys = Object.keys(map);
  if (keys.length === 0) return undefined;
  const out = Object.create(null) as Record<string, unknown>;
  for (const key of keys) {
    const p = map[key] as GrpcParameter;
    out[key] = p.parameter_choice === undefined ? undefined : p[p.parameter_choice];
  }
  return out;
}

/**
 * A `ModelInferRequest` as the transport-neutral OIP request (`runOipInfer`): parameters as plain values,
 * typed `contents` as each input's flat `data` (BYTES decoded as UTF-8 text), `raw_input_contents` as the
 * inputs' raw bytes, viewed, not copied. The gRPC-only rules are checked here: one raw entry per input, never
 * raw and typed contents in one request, the typed field that matches the datatype (FP16 has none).
 */
export function toOipRequest(request: GrpcInferRequest): OipInferRequest {
  const inputs = request.inputs ?? [];
  const raw = request.raw_input_contents ?? [];
  if (raw.length > 0 && raw.length !== inputs.length) {
    throw bad(
      `raw_input_contents has ${raw.length} entries for ${inputs.length} inputs; send one entry per input, in the order of "inputs".`,
    );
  }
  const converted = inputs.map((input, i) => {
    const name = input.name ?? '';
    const where = `inputs[${i}] (${quoteName(name)})`;
    const shape = input.shape ?? [];
    const head = { name, shape, datatype: input.datatype ?? '', parameters: plainParameters(input.parameters) };
    if (raw.length > 0) {
      if (input.contents) throw bad(`${where}: contents and raw_input_contents are both set; use one of them.`);
      return head;
    }
    const dtype = fromOipDatatype(input.datatype ?? '');
    const count = shape.every((d) => Number.isSafeInteger(d) && d >= 0) ? elementCount(shape) : 0;
    return dtype === undefined ? head : { ...head, data: fromContents(where, dtype, count, input.contents) };
  });
  const id = request.id;
  const parameters = plainParameters(request.parameters);
  return {
    inputs: converted,
    ...(id ? { id } : {}),
    ...(parameters === undefined ? {} : { parameters }),
    // The Buffers grpc-js gives view the received message: numeric inputs reach the model without a copy.
    ...(raw.length > 0 ? { raw } : {}),
    ...(request.outputs && request.outputs.length > 0
      ? {
          outputs: request.outputs.map((o) => {
            const p = plainParameters(o.parameters);
            return p === undefined ? { name: o.name as string } : { name: o.name as string, parameters: p };
          }),
        }
      : {}),
  };
}

const encoder = new TextEncoder();

/** An output's values in its typed `contents` field, from the JSON values the OIP core computed. */
function toContents(output: OipOutputTensor): GrpcTensorContents {
  const field = CONTENTS_FIELD[output.tensor.dtype] as keyof GrpcTensorContents;
  const data = output.data ?? output.tensor.toFlatArray();
  if (field === 'bytes_contents') return { bytes_contents: (data as string[]).map((s) => encoder.encode(s)) };
  return { [field]: data };
}

/**
 * The `outputs` and `raw_output_contents` of a `ModelInferResponse`. The protocol allows raw or typed contents
 * for the whole response, not a mix: raw when any output was answered raw (the request sent raw inputs, what
 * Triton's and KServe's clients do, or asked `binary_data`) or has no typed field (FP16); numeric raw outputs
 * are views of the model's own output memory.
 */
export function toGrpcResponse(response: OipInferResponse): GrpcInferResponse {
  const raw = response.outputs.some((o) => o.raw !== undefined || CONTENTS_FIELD[o.tensor.dtype] === undefined);
  const outputs: GrpcInferOutput[] = [];
  const blobs: Uint8Array[] = [];
  for (const o of response.outputs) {
    const meta: GrpcInferOutput = { name: o.name, datatype: o.datatype, shape: o.shape };
    if (raw) blobs.push(o.raw ?? encodeRawTensor(o.tensor));
    else meta.contents = toContents(o);
    outputs.push(meta);
  }
  return {
    model_name: response.model_name,
    model_version: response.model_version,
    ...(response.id === undefined ? {} : { id: response.id }),
    outputs,
    raw_output_contents: blobs,
  };
}
