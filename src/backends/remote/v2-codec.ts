import { assertDeadlineMs } from '../../core/deadline.js';
import { allocate, elementCount } from '../../core/dtype.js';
import { clipName } from '../../core/echo.js';
import { MAX_RANK, toFeeds, type PredictInput } from '../../core/input.js';
import { fromOipDatatype, toOipDatatype } from '../../core/oip-datatype.js';
import { Tensor } from '../../core/tensor.js';
import { ModelshipError } from '../../errors/index.js';
import type { ModelSignature } from '../../spec/tensor.js';
import type { RemotePredictOptions } from './remote-servable.js';

/** Outputs by name, as a remote endpoint's `predict` gives them. */
type RemoteOutputs = Record<string, Tensor>;

/** Longest output name taken from an upstream answer: names are echoed to clients, and ONNX names are short. */
const MAX_OUTPUT_NAME = 256;

/** Product of the non-zero dimensions a zero-size upstream tensor may declare. */
const MAX_EMPTY_EXTENT = 65_536;

function upstreamError(where: string, message: string, cause?: unknown): ModelshipError {
  return new ModelshipError(
    'UPSTREAM_ERROR',
    `${where} answered ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

/** `name` as an upstream output name, or UPSTREAM_ERROR: a non-empty string, bounded, without control characters. */
function outputName(name: unknown, index: number, where: string): string {
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    name.length > MAX_OUTPUT_NAME ||
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f]/.test(name)
  ) {
    const shown = typeof name === 'string' ? JSON.stringify(clipName(name)) : typeof name;
    throw upstreamError(
      where,
      `outputs[${index}] with the name ${shown}; output names are 1 to ${MAX_OUTPUT_NAME} characters without control characters.`,
    );
  }
  return name;
}

/** A v2 output tensor as a modelship tensor; UPSTREAM_ERROR when it is not a well-formed one. */
export function toTensor(
  output: { name: string; datatype: string; shape: number[]; data: unknown[] },
  where = 'The remote server',
): Tensor {
  const what = `${JSON.stringify(clipName(output.name))}`;
  const dtype = fromOipDatatype(output.datatype);
  if (dtype === undefined || !Array.isArray(output.data))
    throw upstreamError(where, `output ${what} that is not a v2 tensor.`);
  const shape: unknown = output.shape;
  if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw upstreamError(where, `output ${what} whose shape is not at most ${MAX_RANK} non-negative integers.`);
  }
  // A zero-size tensor still has its other dimensions allocated when nested for JSON: bound them too.
  let nonZero = 1;
  for (const d of shape as number[]) if (d > 0) nonZero *= d;
  if (elementCount(shape) !== output.data.length || nonZero > Math.max(MAX_EMPTY_EXTENT, output.data.length)) {
    throw upstreamError(where, `output ${what} whose shape does not hold its ${output.data.length} values.`);
  }
  const data = allocate(dtype, output.data.length) as unknown as { [i: number]: unknown };
  const big = dtype === 'int64' || dtype === 'uint64';
  try {
    output.data.forEach((v, i) => (data[i] = big ? BigInt(v as number) : v));
  } catch (cause) {
    throw upstreamError(where, `output ${what} with a value that is not an integer.`, cause);
  }
  return new Tensor(dtype, data as never, shape as number[]);
}

/**
 * The outputs of a v2 `/infer` answer; UPSTREAM_ERROR when it has none, a name twice, or a name or tensor that
 * is not well formed. The record has no prototype, so an output named `__proto__` is a plain output.
 */
export function v2Outputs(answer: unknown, where: string): RemoteOutputs {
  const outputs = (
    answer as { outputs?: { name: string; datatype: string; shape: number[]; data: unknown[] }[] } | null
  )?.outputs;
  if (!Array.isArray(outputs)) throw new ModelshipError('UPSTREAM_ERROR', `${where} answered without v2 outputs.`);
  const out = Object.create(null) as RemoteOutputs;
  for (let i = 0; i < outputs.length; i++) {
    const o = outputs[i];
    if (typeof o !== 'object' || o === null) throw upstreamError(where, `outputs[${i}] that is not an object.`);
    const name = outputName(o.name, i, where);
    if (Object.hasOwn(out, name)) throw upstreamError(where, `output ${JSON.stringify(clipName(name))} twice.`);
    out[name] = toTensor(o, where);
  }
  return out;
}

/** The v2 `/infer` request body for `input`. */
export function v2Request(signature: ModelSignature, input: PredictInput, outputs?: readonly string[]): unknown {
  const feeds = toFeeds(signature, input);
  return {
    inputs: Object.entries(feeds).map(([name, t]) => ({
      name,
      shape: t.shape,
      datatype: toOipDatatype(t.dtype),
      data: Array.from(t.data as ArrayLike<unknown>, (v) => (typeof v === 'bigint' ? Number(v) : v)),
    })),
    ...(outputs ? { outputs: outputs.map((name) => ({ name })) } : {}),
  };
}

/**
 * The abort signal for a remote call: the caller's, joined with a timer for `deadlineMs`. A deadline a timer
 * cannot hold (past `MAX_DEADLINE_MS`, 2^31 - 1) is INVALID_ARGUMENT, as for local models: Node would fire the timer
 * at once with a TimeoutOverflowWarning.
 */
export function remoteSignal(options: RemotePredictOptions): AbortSignal | undefined {
  const { deadlineMs, signal } = options;
  if (deadlineMs === undefined) return signal;
  assertDeadlineMs(deadlineMs);
  const timeout = AbortSignal.timeout(deadlineMs);
  return signal === undefined ? timeout : AbortSignal.any([timeout, signal]);
}
