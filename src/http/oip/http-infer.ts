import { ModelshipError } from '../../errors/index.js';
import { parseJsonBytes, readBody, requireJsonType } from '../body.js';
import type { InboundRequest, OutboundResponse } from '../exchange.js';
import { json } from '../responses.js';
import type { OipInferRequest, OipInferResponse } from './infer-request.js';

/**
 * The HTTP form of an OIP inference request and response, with the binary tensor data extension (KServe v2
 * "binary data extension"; Triton's `extension_binary_data.md`): the body is a JSON header of
 * `Inference-Header-Content-Length` bytes followed by the inputs' raw bytes, in input order, each input saying
 * how many it takes in `parameters.binary_data_size`. Outputs asked for with `binary_data` come back the same
 * way. `tritonclient` sends such bodies with no `Content-Type` (and other clients with
 * `application/octet-stream`), so with the header present any type is read; without it, the body is JSON (a
 * missing `Content-Type` included).
 */

/** The request and response header that gives the JSON header's length in a binary body. */
export const HEADER_LENGTH = 'inference-header-content-length';

function malformed(message: string): ModelshipError {
  return new ModelshipError('MALFORMED_REQUEST', message);
}

function invalid(message: string): ModelshipError {
  return new ModelshipError('INVALID_INPUT', message);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The input's `parameters.binary_data_size`, or undefined; a shared-memory input is refused. */
function binarySize(input: unknown, i: number): number | undefined {
  if (!isRecord(input) || !isRecord(input.parameters)) return undefined;
  const p = input.parameters;
  if (p.shared_memory_region !== undefined) {
    throw invalid(`inputs[${i}]: shared memory is not supported by modelship; send the data in the request.`);
  }
  const size = p.binary_data_size;
  if (size === undefined) return undefined;
  if (!Number.isSafeInteger(size) || (size as number) < 0) {
    throw invalid(`inputs[${i}].parameters.binary_data_size must be a non-negative integer (a byte count).`);
  }
  return size as number;
}

/** Cuts the bytes after the JSON header into one blob per input that declares `binary_data_size`. */
function cutBlobs(inputs: unknown, rest: Uint8Array, headerLength: number | undefined): (Uint8Array | undefined)[] {
  const raw: (Uint8Array | undefined)[] = [];
  let offset = 0;
  if (Array.isArray(inputs)) {
    for (let i = 0; i < inputs.length; i++) {
      const size = binarySize(inputs[i], i);
      if (size === undefined) {
        raw.push(undefined);
        continue;
      }
      if (headerLength === undefined) {
        throw invalid(
          `inputs[${i}] has parameters.binary_data_size but the request has no Inference-Header-Content-Length header; send the header's byte length in it.`,
        );
      }
      if (size > rest.byteLength - offset) {
        throw invalid(
          `inputs[${i}].parameters.binary_data_size is ${size}, but only ${rest.byteLength - offset} bytes of binary data are left in the body.`,
        );
      }
      raw.push(rest.subarray(offset, offset + size));
      offset += size;
    }
  }
  if (offset !== rest.byteLength) {
    throw invalid(
      `${rest.byteLength - offset} bytes after the inference header belong to no input; each binary input must give its size in parameters.binary_data_size.`,
    );
  }
  return raw;
}

/** Parses `Inference-Header-Content-Length`: digits only, at most the body's length. */
function headerLengthOf(value: string, bodyLength: number): number {
  const text = value.trim();
  const n = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw malformed(`Inference-Header-Content-Length must be a byte count, got ${JSON.stringify(text.slice(0, 20))}.`);
  }
  if (n > bodyLength) {
    throw malformed(
      `Inference-Header-Content-Length is ${n}, past the end of the ${bodyLength}-byte body; it must be the length of the JSON header at the start of the body.`,
    );
  }
  return n;
}

/**
 * Reads an OIP inference request from HTTP: a JSON body, or a JSON header plus binary tensor data. The body is
 * inflated per `Content-Encoding` within `limit`. Typed errors: 415 for a non-JSON type without the binary
 * header, 400 `MALFORMED_REQUEST` for a header length past the body or bad JSON, 400 `INVALID_INPUT` for
 * binary sizes that do not add up.
 */
export async function readOipHttpRequest(request: InboundRequest, limit: number): Promise<OipInferRequest> {
  const lengthHeader = request.header(HEADER_LENGTH);
  if (lengthHeader === null) requireJsonType(request);
  const bytes = await readBody(request, limit);
  const headerLength = lengthHeader === null ? undefined : headerLengthOf(lengthHeader, bytes.byteLength);
  // Triton reads a length of 0 as "the whole body is the header".
  const jsonEnd = headerLength === undefined || headerLength === 0 ? bytes.byteLength : headerLength;
  const body = parseJsonBytes(
    bytes.subarray(0, jsonEnd),
    headerLength === undefined ? 'The request body' : 'The inference header',
  );
  if (!isRecord(body)) throw invalid('The body must be an inference request object with "inputs".');
  const raw = cutBlobs(body.inputs, bytes.subarray(jsonEnd), headerLength);
  return {
    ...(body.id === undefined ? {} : { id: body.id as string }),
    ...(body.parameters === undefined ? {} : { parameters: body.parameters as Record<string, unknown> }),
    inputs: body.inputs,
    ...(raw.some((r) => r !== undefined) ? { raw } : {}),
    ...(body.outputs === undefined ? {} : { outputs: body.outputs as OipInferRequest['outputs'] }),
  };
}

const encoder = new TextEncoder();
/** Where binary answers' JSON headers are encoded (see {@link oipHttpAnswer}); headers are usually < 1 KB. */
const headScratch = new Uint8Array(16 * 1024);

/**
 * The HTTP answer to an inference: plain JSON when every output is JSON; otherwise the JSON header (outputs
 * with `parameters.binary_data_size` and no `data`) followed by the binary outputs in order, with
 * `Inference-Header-Content-Length` and `Content-Type: application/octet-stream`, as Triton answers.
 */
export function oipHttpAnswer(answer: OipInferResponse, headers: Record<string, string>): OutboundResponse {
  let binary = 0;
  const outputs = answer.outputs.map((o) => {
    if (o.raw === undefined) return { name: o.name, datatype: o.datatype, shape: o.shape, data: o.data };
    binary += o.raw.byteLength;
    return { name: o.name, datatype: o.datatype, shape: o.shape, parameters: o.parameters };
  });
  const head = {
    model_name: answer.model_name,
    model_version: answer.model_version,
    ...(answer.id === undefined ? {} : { id: answer.id }),
    outputs,
  };
  if (!answer.outputs.some((o) => o.raw !== undefined)) return json(head, 200, headers);
  const headText = JSON.stringify(head);
  // One typed array per answer, not two: each is memory outside V8's heap that its collector has to account
  // for (see docs/performance.md, "Batch memory is reused"). The header is encoded into a reused scratch
  // array first, since its UTF-8 length is only known once encoded; a header too long for it is encoded alone.
  const scratch = encoder.encodeInto(headText, headScratch);
  const headBytes =
    scratch.read === headText.length ? headScratch.subarray(0, scratch.written) : encoder.encode(headText);
  const body = new Uint8Array(headBytes.byteLength + binary);
  body.set(headBytes, 0);
  let offset = headBytes.byteLength;
  for (const o of answer.outputs) {
    if (o.raw === undefined) continue;
    body.set(o.raw, offset);
    offset += o.raw.byteLength;
  }
  return {
    status: 200,
    headers: {
      ...headers,
      'content-type': 'application/octet-stream',
      [HEADER_LENGTH]: String(headBytes.byteLength),
    },
    body,
  };
}
