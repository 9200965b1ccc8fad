import { ModelshipError } from '../../errors/index.js';
import { toOipDatatype } from '../../core/oip-datatype.js';
import type { Tensor } from '../../core/tensor.js';
import { predictVersioned, type RoutedPredictOptions, type Servable } from '../../serving/servable.js';
import { readRequestedOutputs, unanswered } from '../routes/predict.js';
import { classCount, classify, labelsFor } from './classification.js';
import { decodeOipInputs } from './codec.js';
import { encodeRawTensor } from './raw-tensor.js';
import { nsSince, recordInference } from './statistics.js';

/**
 * The Open Inference Protocol's infer call without its transport: an inference request (already parsed from
 * JSON, or built from a gRPC `ModelInferRequest`) → the model call → an inference response whose outputs are
 * either JSON values or raw bytes. The REST route (`/v2/models/{name}/infer`) and the gRPC `ModelInfer` both
 * call {@link runOipInfer}, so ids, parameters, requested outputs, the classification extension, statistics and
 * errors behave the same on both.
 */

/** One requested output (`outputs[]` of the request). */
export interface OipRequestedOutput {
  readonly name: string;
  /** `binary_data` (bool): answer this output as raw bytes; `classification` / `class_count` (int): top N. */
  readonly parameters?: Readonly<Record<string, unknown>>;
}

/** An inference request as both transports see it, once its envelope is parsed. */
export interface OipInferRequest {
  /** Echoed in the response only when the request had one (the spec: no id is invented). */
  readonly id?: string;
  /** `binary_data_output` (bool): the default for outputs not listed or without `binary_data`. */
  readonly parameters?: Readonly<Record<string, unknown>>;
  /** `{ name, shape, datatype, data?, parameters? }` objects, not yet validated (checked here, typed errors). */
  readonly inputs: unknown;
  /** The raw bytes of `inputs[i]` (HTTP binary blobs or gRPC `raw_input_contents`), where sent. */
  readonly raw?: ReadonlyArray<Uint8Array | undefined>;
  readonly outputs?: readonly OipRequestedOutput[];
}

/** One output of the response: JSON `data`, or `raw` bytes (then `parameters.binary_data_size` is set). */
export interface OipOutputTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: number[];
  readonly parameters?: { binary_data_size: number };
  readonly data?: unknown[];
  readonly raw?: Uint8Array;
  /** The tensor itself, for transports that carry typed contents (gRPC `contents`). */
  readonly tensor: Tensor;
}

/** The response, ready for a transport to serialize. */
export interface OipInferResponse {
  readonly model_name: string;
  readonly model_version: string;
  readonly id?: string;
  readonly outputs: OipOutputTensor[];
}

/** How the transport wants the call made and answered. */
export interface OipInferOptions {
  /** The model call's options: abort signal, deadline, priority, routing key. */
  readonly predict: RoutedPredictOptions;
  /**
   * Whether outputs are raw bytes unless asked otherwise (gRPC answers `raw_output_contents`; HTTP answers JSON
   * unless `binary_data`/`binary_data_output` ask for binary). Default false.
   */
  readonly binaryByDefault?: boolean;
  /** `performance.now()` when the request started arriving, for the `success`/`fail` statistics (default: now). */
  readonly startedAt?: number;
}

function invalid(message: string): ModelshipError {
  return new ModelshipError('INVALID_INPUT', message);
}

function flag(
  parameters: Readonly<Record<string, unknown>> | undefined,
  key: string,
  where: string,
): boolean | undefined {
  const v = parameters?.[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw invalid(`${where}.parameters.${key} must be true or false.`);
  return v;
}

/** What the request asks of each output: binary or JSON, classification. */
interface OutputPlan {
  readonly binary: boolean;
  readonly classes: number | undefined;
}

/** Reads `id`, `parameters` and `outputs` of a request (typed `INVALID_INPUT` on a bad one). */
function plan(request: OipInferRequest, binaryByDefault: boolean) {
  if (request.id !== undefined && typeof request.id !== 'string') throw invalid('"id" must be a string.');
  const params = request.parameters;
  if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
    throw invalid('"parameters" must be an object.');
  }
  const binaryDefault = flag(params, 'binary_data_output', 'request') ?? binaryByDefault;
  const outputs = request.outputs;
  if (outputs === undefined) return { names: undefined, plans: undefined, binaryDefault };
  if (!Array.isArray(outputs) || !outputs.every((o) => typeof o === 'object' && o !== null && !Array.isArray(o))) {
    throw invalid('"outputs" must be an array of { name, parameters? } objects.');
  }
  const names = readRequestedOutputs(
    outputs.map((o: { name?: unknown }) => o.name),
    'outputs[].name',
  );
  const plans = new Map<string, OutputPlan>();
  outputs.forEach((o, i) => {
    const where = `outputs[${i}]`;
    const p = o.parameters;
    if (p !== undefined && (typeof p !== 'object' || p === null || Array.isArray(p))) {
      throw invalid(`${where}.parameters must be an object.`);
    }
    if (p?.shared_memory_region !== undefined) {
      throw invalid(`${where}: shared memory is not supported by modelship; send the data in the request.`);
    }
    plans.set(o.name, { binary: flag(p, 'binary_data', where) ?? binaryDefault, classes: classCount(p, where) });
  });
  return { names, plans, binaryDefault };
}

const PRIORITIES = [undefined, 'high', 'normal', 'low'] as const;

/**
 * The model call's options with what the request's `parameters` add, as Triton reads them: `timeout` in
 * microseconds becomes the deadline (unless the transport already set one, e.g. from a header or a gRPC
 * deadline), and `priority` 1..3 (Triton's levels, 1 highest, 0 the default) becomes high, normal or low.
 */
function withRequestParameters(
  base: RoutedPredictOptions,
  params: Readonly<Record<string, unknown>> | undefined,
): RoutedPredictOptions {
  const timeout = params?.timeout;
  const priority = params?.priority;
  if (timeout === undefined && (priority === undefined || priority === 0)) return base;
  const out: { -readonly [K in keyof RoutedPredictOptions]: RoutedPredictOptions[K] } = { ...base };
  if (timeout !== undefined) {
    if (!Number.isSafeInteger(timeout) || (timeout as number) < 0) {
      throw invalid('parameters.timeout must be a non-negative integer (microseconds).');
    }
    if (out.deadlineMs === undefined && (timeout as number) > 0) out.deadlineMs = Math.ceil((timeout as number) / 1000);
  }
  if (priority !== undefined) {
    if (!Number.isSafeInteger(priority) || (priority as number) < 0 || (priority as number) > 3) {
      throw invalid('parameters.priority must be 0 (default), 1 (high), 2 (normal) or 3 (low).');
    }
    const level = PRIORITIES[priority as number];
    if (level !== undefined && out.priority === undefined) out.priority = level;
  }
  return out;
}

/** Rows the request carries for `inference_count`: the first input's first dimension when the model batches. */
function rowsOf(model: Servable, inputs: Record<string, { shape: readonly number[] }>): number {
  const first = model.signature.inputs[0];
  const input = first === undefined ? undefined : inputs[first.name];
  return first?.shape?.[0] === null && input !== undefined && input.shape.length > 0 ? (input.shape[0] as number) : 1;
}

/**
 * Runs one OIP inference request against `model`: validates and decodes the inputs (JSON values or raw bytes,
 * typed `INVALID_INPUT` errors naming the input), calls the model with the transport's predict options, and
 * encodes each output as the request asked (JSON, raw bytes, or classification). Records Triton-style
 * statistics for the model and the version that answered, failures included.
 *
 * @example
 * ```ts
 * const answer = await runOipInfer(model, { id: 'r1', inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32' }], raw: [bytes] }, { predict: { signal } });
 * answer.outputs[0].data; // JSON values, or .raw for binary outputs
 * ```
 */
export function runOipInfer(
  model: Servable,
  request: OipInferRequest,
  options: OipInferOptions,
): Promise<OipInferResponse> {
  const startedAt = options.startedAt ?? performance.now();
  let rows = 1;
  try {
    const t0 = performance.now();
    const { names, plans, binaryDefault } = plan(request, options.binaryByDefault === true);
    const inputs = decodeOipInputs(request.inputs, model.signature.inputs, request.raw);
    rows = rowsOf(model, inputs);
    const inputNs = nsSince(t0);
    const t1 = performance.now();
    const id = request.id;
    return predictVersioned(model, inputs, {
      ...withRequestParameters(options.predict, request.parameters),
      ...(names === undefined ? {} : { outputs: names }),
    }).then(
      (answer) => {
        const inferNs = nsSince(t1);
        const t2 = performance.now();
        try {
          const outputs: OipOutputTensor[] = [];
          for (const [name, tensor] of Object.entries(answer.outputs)) {
            const p = plans?.get(name);
            outputs.push(encodeOutput(model, name, tensor, p?.binary ?? binaryDefault, p?.classes));
          }
          recordInference(model, answer.version, {
            rows,
            ok: true,
            totalNs: nsSince(startedAt),
            inputNs,
            inferNs,
            outputNs: nsSince(t2),
          });
          return {
            model_name: model.name,
            model_version: answer.version,
            ...(id === undefined ? {} : { id }),
            outputs,
          };
        } catch (error) {
          recordInference(model, answer.version, { rows, ok: false, totalNs: nsSince(startedAt) });
          throw unanswered(answer, error);
        }
      },
      (error: unknown) => {
        recordInference(model, model.version, { rows, ok: false, totalNs: nsSince(startedAt) });
        throw error;
      },
    );
  } catch (error) {
    recordInference(model, model.version, { rows, ok: false, totalNs: nsSince(startedAt) });
    return Promise.reject(error);
  }
}

function encodeOutput(
  model: Servable,
  name: string,
  tensor: Tensor,
  binary: boolean,
  classes: number | undefined,
): OipOutputTensor {
  let t = tensor;
  if (classes !== undefined) {
    const spec = model.signature.outputs.find((s) => s.name === name);
    t = classify(name, tensor, spec, classes, labelsFor(model.metadata, name));
  }
  const head = { name, datatype: toOipDatatype(t.dtype), shape: [...t.shape], tensor: t };
  if (!binary) return { ...head, data: t.toFlatArray() };
  const raw = encodeRawTensor(t);
  return { ...head, parameters: { binary_data_size: raw.byteLength }, raw };
}
