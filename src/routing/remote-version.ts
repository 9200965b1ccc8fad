import { MAX_DEADLINE_MS } from '../core/deadline.js';
import { allocate, elementCount } from '../core/dtype.js';
import { clipName } from '../core/echo.js';
import { parseOptions } from '../core/options.js';
import { redactUrl } from '../core/redact.js';
import { MAX_RANK, toFeeds, type PredictInput } from '../core/input.js';
import { fromOipDatatype, toOipDatatype } from '../core/oip-datatype.js';
import { Tensor } from '../core/tensor.js';
import { ModelshipError, toModelshipError } from '../errors/index.js';
import type { ModelState, PredictOptions, PredictOutputs, ServableModel } from '../serving/servable.js';
import type { ModelSignature, TensorSpec } from '../spec/tensor.js';
import { remoteVersionSchema, type RemoteVersion } from './deployment-options.js';
import { assertVersionLabel } from './version-label.js';

interface OipTensorMeta {
  name: string;
  datatype: string;
  shape: number[];
}

const RETRY_STATUS = new Set([502, 503, 504]);

function toSpec(meta: OipTensorMeta): TensorSpec {
  const dtype = fromOipDatatype(meta.datatype);
  if (dtype === undefined) throw new ModelshipError('UPSTREAM_ERROR', `The remote model declares ${meta.name} as ${meta.datatype}, which modelship does not know.`);
  return { name: meta.name, dtype, shape: meta.shape.map((d) => (d < 0 ? null : d)) };
}

/** Longest output name taken from an upstream answer: names are echoed to clients, and ONNX names are short. */
const MAX_OUTPUT_NAME = 256;

/** Product of the non-zero dimensions a zero-size upstream tensor may declare. */
const MAX_EMPTY_EXTENT = 65_536;

function upstreamError(where: string, message: string, cause?: unknown): ModelshipError {
  return new ModelshipError('UPSTREAM_ERROR', `${where} answered ${message}`, cause === undefined ? undefined : { cause });
}

/** `name` as an upstream output name, or UPSTREAM_ERROR: a non-empty string, bounded, without control characters. */
function outputName(name: unknown, index: number, where: string): string {
  // eslint-disable-next-line no-control-regex
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_OUTPUT_NAME || /[\u0000-\u001f\u007f]/.test(name)) {
    const shown = typeof name === 'string' ? JSON.stringify(clipName(name)) : typeof name;
    throw upstreamError(where, `outputs[${index}] with the name ${shown}; output names are 1 to ${MAX_OUTPUT_NAME} characters without control characters.`);
  }
  return name;
}

/** A v2 output tensor as a modelship tensor; UPSTREAM_ERROR when it is not a well-formed one. */
export function toTensor(output: { name: string; datatype: string; shape: number[]; data: unknown[] }, where = 'The remote server'): Tensor {
  const what = `${JSON.stringify(clipName(output.name))}`;
  const dtype = fromOipDatatype(output.datatype);
  if (dtype === undefined || !Array.isArray(output.data)) throw upstreamError(where, `output ${what} that is not a v2 tensor.`);
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
export function v2Outputs(answer: unknown, where: string): PredictOutputs {
  const outputs = (answer as { outputs?: { name: string; datatype: string; shape: number[]; data: unknown[] }[] } | null)?.outputs;
  if (!Array.isArray(outputs)) throw new ModelshipError('UPSTREAM_ERROR', `${where} answered without v2 outputs.`);
  const out = Object.create(null) as PredictOutputs;
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
 * cannot hold (past {@link MAX_DEADLINE_MS}) is INVALID_ARGUMENT, as for local models: Node would fire the timer
 * at once with a TimeoutOverflowWarning.
 */
export function remoteSignal(options: PredictOptions): AbortSignal | undefined {
  const { deadlineMs, signal } = options;
  if (deadlineMs === undefined) return signal;
  if (!(typeof deadlineMs === 'number' && deadlineMs > 0 && deadlineMs <= MAX_DEADLINE_MS)) {
    throw new ModelshipError('INVALID_ARGUMENT', `deadlineMs must be a positive number of milliseconds up to ${MAX_DEADLINE_MS}, got ${String(deadlineMs)}.`);
  }
  const timeout = AbortSignal.timeout(deadlineMs);
  return signal === undefined ? timeout : AbortSignal.any([timeout, signal]);
}

/**
 * A version served by another server over KServe v2 / the Open Inference Protocol, as a model: the signature
 * comes from its metadata, `predict` posts to `/infer` with a per-attempt timeout and retries connection
 * failures and 502/503/504 (inference is idempotent). Failures map to UPSTREAM_UNAVAILABLE / UPSTREAM_ERROR.
 */
export async function createRemoteVersion(options: RemoteVersion, fetchImpl: typeof fetch = globalThis.fetch): Promise<ServableModel> {
  const remote = parseOptions(remoteVersionSchema.shape.remote, options, 'createRemoteVersion');
  const base = `${remote.url.replace(/\/+$/, '')}/v2/models/${encodeURIComponent(remote.model)}${remote.version === undefined ? '' : `/versions/${encodeURIComponent(remote.version)}`}`;
  const timeoutMs = remote.timeoutMs ?? 10_000;
  const retries = remote.retries ?? 2;
  const shown = redactUrl(remote.url);
  const where = `${remote.model} at ${shown}`;

  async function call(path: string, init: RequestInit, signal?: AbortSignal): Promise<unknown> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      signal?.throwIfAborted();
      const timeout = AbortSignal.timeout(timeoutMs);
      try {
        const res = await fetchImpl(`${base}${path}`, { ...init, headers: { 'content-type': 'application/json', ...remote.headers }, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
        const text = await res.text();
        if (res.ok) return JSON.parse(text) as unknown;
        let message = text.slice(0, 200);
        try {
          message = String((JSON.parse(text) as { error?: unknown }).error ?? message);
        } catch {
          // not JSON
        }
        if (RETRY_STATUS.has(res.status)) {
          lastError = new ModelshipError('UPSTREAM_UNAVAILABLE', `${where} answered ${res.status}: ${message}`);
          continue;
        }
        throw new ModelshipError(res.status === 400 ? 'INVALID_INPUT' : 'UPSTREAM_ERROR', `${where} answered ${res.status}: ${message}`);
      } catch (error) {
        if (ModelshipError.isInstance(error)) throw error;
        if (signal?.aborted) throw new ModelshipError('ABORTED', `The request to ${where} was cancelled.`, { cause: error });
        lastError = new ModelshipError('UPSTREAM_UNAVAILABLE', `${where} could not be reached (${toModelshipError(error).message}).`, { cause: error });
      }
    }
    throw lastError;
  }

  const meta = (await call('', { method: 'GET' })) as { name?: string; versions?: string[]; platform?: string; inputs?: OipTensorMeta[]; outputs?: OipTensorMeta[] };
  if (!Array.isArray(meta.inputs) || !Array.isArray(meta.outputs)) throw new ModelshipError('UPSTREAM_ERROR', `${where} gave metadata without inputs and outputs.`);
  const signature: ModelSignature = { inputs: meta.inputs.map(toSpec), outputs: meta.outputs.map(toSpec) };
  const version = remote.version ?? meta.versions?.[0] ?? 'remote';
  assertVersionLabel(version, `${where} (its metadata)`, 'UPSTREAM_ERROR', ' Set remote.version to the label to report.');
  let state: ModelState = 'ready';
  return {
    name: remote.model,
    version,
    signature,
    platform: meta.platform ?? 'remote',
    metadata: { remote: shown },
    get state() {
      return state;
    },
    async predict(input: PredictInput, options: PredictOptions = {}): Promise<PredictOutputs> {
      if (state !== 'ready') throw new ModelshipError('NOT_READY', `Remote version ${where} is closed.`);
      const signal = remoteSignal(options);
      const body = v2Request(signature, input, options.outputs);
      return v2Outputs(await call('/infer', { method: 'POST', body: JSON.stringify(body) }, signal), where);
    },
    ready: () => Promise.resolve(),
    close: async () => {
      state = 'closed';
    },
  };
}
