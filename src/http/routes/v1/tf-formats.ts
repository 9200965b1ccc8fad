import { ModelshipError } from '../../../errors/index.js';
import { MAX_RANK } from '../../../core/input.js';
import type { NestedArray } from '../../../core/tensor.js';
import type { PredictOutputs } from '../../../serving/servable.js';
import type { ModelSignature } from '../../../spec/tensor.js';

/**
 * TF Serving's REST predict formats (tensorflow/serving `g3doc/api_rest.md`, "Specifying input tensors in row
 * format" and "... in column format"), which KServe's v1 protocol shares:
 * - row: `{"instances": [...]}`, one entry per example, either the value of the only input or an object of
 *   named inputs; answered `{"predictions": [...]}`, one entry per example, the value of the only output or
 *   an object of named outputs;
 * - columnar: `{"inputs": value | {name: value}}`, answered `{"outputs": value | {name: value}}`.
 * Binary strings may be sent as `{"b64": "<base64>"}`.
 */

function invalid(message: string): ModelshipError {
  return new ModelshipError('INVALID_INPUT', message);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isB64(v: unknown): v is { b64: string } {
  return isRecord(v) && typeof v.b64 === 'string' && Object.keys(v).length === 1;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Replaces `{"b64": ...}` leaves with their text (modelship's string tensors hold text). Depth-bounded. */
function decodeB64(value: unknown, depth = 0): unknown {
  if (isB64(value)) {
    try {
      return utf8.decode(Uint8Array.from(atob(value.b64), (c) => c.charCodeAt(0)));
    } catch (cause) {
      throw new ModelshipError('INVALID_INPUT', 'A "b64" value is not valid base64-encoded UTF-8 text.', { cause });
    }
  }
  if (!Array.isArray(value) || depth > MAX_RANK) return value;
  return value.map((v) => decodeB64(v, depth + 1));
}

/** Which format a request body uses, and its inputs keyed by name (for `predict`). */
export interface TfRequest {
  readonly format: 'row' | 'columnar';
  readonly inputs: Record<string, unknown>;
}

/** Reads a TF Serving predict body against the model's signature (typed `INVALID_INPUT` on a bad one). */
export function readTfRequest(body: unknown, signature: ModelSignature): TfRequest {
  if (!isRecord(body)) throw invalid('The body must be a JSON object with "instances" (row format) or "inputs".');
  const signatureName = body.signature_name;
  if (signatureName !== undefined && signatureName !== 'serving_default') {
    throw invalid('Only the "serving_default" signature is served; leave signature_name out or set it to that.');
  }
  const hasInstances = body.instances !== undefined;
  const hasInputs = body.inputs !== undefined;
  // TF Serving's own rule: exactly one of the two.
  if (hasInstances === hasInputs) {
    throw invalid('The body must contain either "instances" or "inputs", but not both.');
  }
  const names = signature.inputs.map((s) => s.name);
  const out = Object.create(null) as Record<string, unknown>;
  if (hasInputs) {
    const inputs = body.inputs;
    const named =
      isRecord(inputs) && !isB64(inputs) && (names.length > 1 || Object.keys(inputs).every((k) => names.includes(k)));
    if (named) for (const [k, v] of Object.entries(inputs)) out[k] = decodeB64(v);
    else if (names.length === 1) out[names[0] as string] = decodeB64(inputs);
    else throw invalid(`The model has ${names.length} inputs; send "inputs" as an object keyed by input name.`);
    return { format: 'columnar', inputs: out };
  }
  const instances = body.instances;
  if (!Array.isArray(instances) || instances.length === 0) {
    throw invalid('"instances" must be a non-empty list, one entry per example.');
  }
  const first: unknown = instances[0];
  const named = isRecord(first) && !isB64(first);
  if (!named) {
    if (names.length !== 1) {
      throw invalid(`The model has ${names.length} inputs; send each instance as an object keyed by input name.`);
    }
    out[names[0] as string] = decodeB64(instances);
    return { format: 'row', inputs: out };
  }
  const keys = Object.keys(first);
  for (const k of keys) out[k] = new Array(instances.length);
  for (let i = 0; i < instances.length; i++) {
    const instance: unknown = instances[i];
    if (
      !isRecord(instance) ||
      Object.keys(instance).length !== keys.length ||
      !keys.every((k) => Object.hasOwn(instance, k))
    ) {
      throw invalid(`instances[${i}] must name the same inputs as instances[0] (${keys.slice(0, 10).join(', ')}).`);
    }
    for (const k of keys) (out[k] as unknown[])[i] = decodeB64(instance[k]);
  }
  return { format: 'row', inputs: out };
}

/** The answer body for the request's format. */
export function tfAnswer(format: 'row' | 'columnar', outputs: PredictOutputs): Record<string, unknown> {
  const entries = Object.entries(outputs);
  if (format === 'columnar') {
    if (entries.length === 1) return { outputs: (entries[0] as [string, { toArray(): NestedArray }])[1].toArray() };
    return { outputs: Object.fromEntries(entries.map(([n, t]) => [n, t.toArray()])) };
  }
  if (entries.length === 1) return { predictions: (entries[0] as [string, { toArray(): NestedArray }])[1].toArray() };
  const rows = entries.map(([, t]) => t.shape[0]);
  const n = rows[0];
  if (n === undefined || rows.some((r) => r !== n)) {
    throw invalid(
      'The model\'s outputs do not share a batch (first) dimension, so they cannot be answered per instance; send the columnar format ("inputs") instead.',
    );
  }
  const columns = entries.map(([name, t]) => [name, t.toArray() as NestedArray[]] as const);
  const predictions = new Array<Record<string, NestedArray>>(n);
  for (let i = 0; i < n; i++) {
    const row = Object.create(null) as Record<string, NestedArray>;
    for (const [name, values] of columns) row[name] = values[i] as NestedArray;
    predictions[i] = row;
  }
  return { predictions };
}
