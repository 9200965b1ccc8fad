/**
 * The HTTP driver of the OIP conformance table. Triton's Python client (`tritonclient[http]`) cannot be
 * installed here (no PyPI), so this driver sends byte for byte what it sends and reads answers the way it
 * does, after its source (triton-inference-server/client, src/python/library/tritonclient/http):
 * - `_utils._get_inference_request`: a compact JSON header (`id` only when set; `parameters.binary_data_output:
 *   true` when no outputs are requested), then each binary input's raw bytes in input order; the header's
 *   length in `Inference-Header-Content-Length` when any input is binary; and NO `Content-Type`;
 * - `_infer_input.InferInput._get_tensor`: `{name, shape, datatype}` plus `parameters.binary_data_size` for a
 *   binary input or `data` (flat) for a JSON one;
 * - `_requested_output.InferRequestedOutput._get_tensor`: `{name, parameters: {classification?, binary_data}}`;
 * - `_infer_result.InferResult`: the JSON header is the first `Inference-Header-Content-Length` bytes (all of
 *   the body without it), binary outputs follow in order, each `parameters.binary_data_size` long;
 * - `_utils._get_error`: a non-200 answer's `json["error"]` is the message, which must be a string.
 */
import { request as httpRequest } from 'node:http';
import type { CaseTensor, InferCase, InferResult, OipDriver } from './cases.js';
import { fromBytes, toBytes } from './wire.js';

/** A raw HTTP exchange: the exact bytes and headers sent, the status, headers and body bytes received. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Sends exactly these headers (plus Host and Content-Length, as every client does) and this body. */
export function send(
  base: string,
  method: string,
  path: string,
  body?: Uint8Array,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<RawAnswer> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: url.pathname,
        headers: { ...headers },
        ...(signal ? { signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.setHeader('content-length', body.byteLength);
    req.end(body === undefined ? undefined : Buffer.from(body));
  });
}

/** `_utils._get_inference_request`: the body and the header length (undefined when nothing is binary). */
export function tritonRequestBody(
  request: {
    id?: string;
    inputs: readonly CaseTensor[];
    outputs?: ReadonlyArray<{ name: string; binary?: boolean; classification?: number }>;
    parameters?: Record<string, unknown>;
  },
  allBinary: boolean,
): { body: Uint8Array; headerLength: number | undefined } {
  const infer: Record<string, unknown> = {};
  const parameters: Record<string, unknown> = { ...request.parameters };
  if (request.id !== undefined && request.id !== '') infer.id = request.id;
  const blobs: Uint8Array[] = [];
  infer.inputs = request.inputs.map((t) => {
    const tensor: Record<string, unknown> = { name: t.name, shape: t.shape, datatype: t.datatype };
    if (allBinary || t.binary === true) {
      const raw = toBytes(t.datatype, t.data);
      blobs.push(raw);
      tensor.parameters = { binary_data_size: raw.byteLength };
    } else tensor.data = t.data;
    return tensor;
  });
  if (request.outputs !== undefined && request.outputs.length > 0) {
    infer.outputs = request.outputs.map((o) => {
      const p: Record<string, unknown> = {};
      if (o.classification !== undefined) p.classification = o.classification;
      p.binary_data = allBinary || o.binary === true;
      return { name: o.name, parameters: p };
    });
  } else if (allBinary) parameters.binary_data_output = true;
  if (Object.keys(parameters).length > 0) infer.parameters = parameters;
  const head = new TextEncoder().encode(JSON.stringify(infer));
  if (blobs.length === 0) return { body: head, headerLength: undefined };
  const body = Buffer.concat([head, ...blobs]);
  return { body, headerLength: head.byteLength };
}

/** `InferResult`: the JSON header and each binary output decoded (flat). */
export function parseTritonAnswer(answer: RawAnswer): Record<string, any> {
  const length = answer.headers['inference-header-content-length'];
  const headerLength = typeof length === 'string' ? Number(length) : answer.body.length;
  const result = JSON.parse(answer.body.subarray(0, headerLength).toString('utf8')) as Record<string, any>;
  let offset = headerLength;
  for (const output of result.outputs ?? []) {
    const size = output.parameters?.binary_data_size;
    if (size === undefined) continue;
    output.data = fromBytes(output.datatype, answer.body.subarray(offset, offset + size));
    offset += size;
  }
  return result;
}

/** `_get_error`: the message must be a string (an object breaks `str(exception)` in tritonclient). */
export function tritonError(answer: RawAnswer): { code: string; message: string } {
  const body = JSON.parse(answer.body.toString('utf8')) as { error: unknown; code: unknown };
  if (typeof body.error !== 'string') throw new Error(`error is not a string: ${answer.body.toString('utf8')}`);
  return { code: String(body.code), message: body.error };
}

async function getJson(base: string, path: string): Promise<{ status: number; body: any }> {
  const answer = await send(base, 'GET', path);
  return { status: answer.status, body: JSON.parse(answer.body.toString('utf8')) };
}

const modelPath = (model: string, version?: string): string =>
  `/v2/models/${encodeURIComponent(model)}${version === undefined ? '' : `/versions/${encodeURIComponent(version)}`}`;

/** The driver over a running server at `base`. */
export function httpDriver(base: string): OipDriver {
  return {
    name: 'HTTP',
    serverLive: async () => (await getJson(base, '/v2/health/live')).status === 200,
    serverReady: async () => (await getJson(base, '/v2/health/ready')).status === 200,
    serverMetadata: async () => (await getJson(base, '/v2')).body,
    modelReady: async (model, version) => (await getJson(base, `${modelPath(model, version)}/ready`)).status === 200,
    modelMetadata: async (model, version) => (await getJson(base, modelPath(model, version))).body,
    modelConfig: async (model, version) => (await getJson(base, `${modelPath(model, version)}/config`)).body,
    modelStatistics: async (model, version) =>
      (await getJson(base, model === undefined ? '/v2/models/stats' : `${modelPath(model, version)}/stats`)).body
        .model_stats,
    async infer(c: InferCase, options = {}): Promise<InferResult> {
      const parameters =
        options.deadlineMs === undefined ? c.parameters : { ...c.parameters, timeout: options.deadlineMs * 1000 };
      const { body, headerLength } = tritonRequestBody(
        { ...c, ...(parameters === undefined ? {} : { parameters }) },
        options.allBinary === true,
      );
      const headers: Record<string, string> =
        headerLength === undefined ? {} : { 'Inference-Header-Content-Length': String(headerLength) };
      const answer = await send(base, 'POST', `${modelPath(c.model, c.version)}/infer`, body, headers, options.signal);
      if (answer.status !== 200) return { ok: false, ...tritonError(answer) };
      const result = parseTritonAnswer(answer);
      return {
        ok: true,
        id: result.id,
        modelName: result.model_name,
        modelVersion: result.model_version,
        outputs: Object.fromEntries(
          (result.outputs as Array<{ name: string; datatype: string; shape: number[]; data: unknown[] }>).map((o) => [
            o.name,
            { datatype: o.datatype, shape: o.shape, data: o.data },
          ]),
        ),
      };
    },
  };
}
