/**
 * The gRPC driver of the OIP conformance table: a grpc-js client on the `.proto` modelship ships (package
 * `inference`, service `GRPCInferenceService`, as KServe and Triton publish them). It sends what the official
 * clients send (Python's `tritonclient.grpc` and KServe's `InferenceGRPCClient` cannot be installed here):
 * - tritonclient.grpc (`InferInput.set_data_from_numpy`) puts every input in `raw_input_contents` (numpy's
 *   little-endian bytes; BYTES length-prefixed) and never uses typed contents; a case with any binary tensor
 *   (or `allBinary`) is sent that way, every input raw — the protocol forbids mixing raw and typed contents;
 * - KServe's client sends typed `contents` (`fp32_contents`, `int64_contents`, …); a case with no binary
 *   tensor is sent that way, except when an input is FP16, which has no typed field (then raw, as both do);
 * - requested outputs carry `binary_data` and `classification` as `InferParameter`s (bool/int64);
 * - answers are read as `InferResult.as_numpy` reads them: `raw_output_contents[i]` when present, else the
 *   typed field; errors are the gRPC status, with modelship's code from the `x-modelship-error-code` trailer.
 */
import type { CaseTensor, InferCase, InferResult, OipDriver } from './cases.js';
import { fromBytes, toBytes } from './wire.js';
import { grpc, grpcClient, type TestClient } from '../grpc/grpc-client.js';

/** The typed `contents` field of each datatype (FP16 has none). */
const FIELD: Record<string, string | undefined> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP16: undefined,
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

/** gRPC statuses by name, for failures that carry no modelship code (a client-side deadline or cancel). */
const STATUS_NAMES = Object.fromEntries(Object.entries(grpc.status).map(([k, v]) => [v, k]));

function contentsOf(t: CaseTensor): Record<string, unknown> {
  const field = FIELD[t.datatype] as string;
  const data = t.datatype === 'BYTES' ? t.data.map((v) => Buffer.from(String(v), 'utf8')) : t.data;
  return { [field]: data };
}

function parameter(value: boolean | number): Record<string, unknown> {
  return typeof value === 'boolean' ? { bool_param: value } : { int64_param: value };
}

/** The `ModelInferRequest` for a case. */
export function inferRequest(c: InferCase, allBinary: boolean): Record<string, unknown> {
  const raw = allBinary || c.inputs.some((t) => t.binary === true || FIELD[t.datatype] === undefined);
  const inputs = c.inputs.map((t) => ({
    name: t.name,
    datatype: t.datatype,
    shape: t.shape,
    ...(raw ? {} : { contents: contentsOf(t) }),
  }));
  const parameters = Object.fromEntries(
    Object.entries(c.parameters ?? {}).map(([k, v]) => [k, parameter(v as boolean | number)]),
  );
  return {
    model_name: c.model,
    ...(c.version === undefined ? {} : { model_version: c.version }),
    ...(c.id === undefined ? {} : { id: c.id }),
    parameters,
    inputs,
    outputs: (c.outputs ?? []).map((o) => ({
      name: o.name,
      parameters: {
        ...(o.binary === undefined && !allBinary ? {} : { binary_data: parameter(allBinary || o.binary === true) }),
        ...(o.classification === undefined ? {} : { classification: parameter(o.classification) }),
      },
    })),
    raw_input_contents: raw ? c.inputs.map((t) => Buffer.from(toBytes(t.datatype, t.data))) : [],
  };
}

/** `InferResult.as_numpy`: an output's values from the raw contents or the typed field, as flat JSON values. */
function outputValues(answer: any, index: number): unknown[] {
  const output = answer.outputs[index];
  if (answer.raw_output_contents.length > 0) return fromBytes(output.datatype, answer.raw_output_contents[index]);
  const values = output.contents[FIELD[output.datatype] as string] as unknown[];
  return output.datatype === 'BYTES' ? values.map((b) => (b as Buffer).toString('utf8')) : values;
}

/** The driver over a server's gRPC port (`host:port`). */
export function grpcDriver(address: string): OipDriver & { close(): void } {
  const client: TestClient = grpcClient(address);
  return {
    name: 'gRPC',
    close: () => client.close(),
    serverLive: async () => (await client.call('ServerLive', {})).live,
    serverReady: async () => (await client.call('ServerReady', {})).ready,
    serverMetadata: () => client.call('ServerMetadata', {}),
    modelReady: async (model, version) => (await client.call('ModelReady', { name: model, version })).ready,
    modelMetadata: (model, version) => client.call('ModelMetadata', { name: model, version }),
    modelConfig: async (model, version) => (await client.call('ModelConfig', { name: model, version })).config,
    modelStatistics: async (model, version) =>
      (await client.call('ModelStatistics', { name: model ?? '', version: version ?? '' })).model_stats,
    async infer(c: InferCase, options = {}): Promise<InferResult> {
      const request = inferRequest(c, options.allBinary === true);
      const deadline = options.deadlineMs === undefined ? undefined : new Date(Date.now() + options.deadlineMs);
      const { call, answer } = client.start('ModelInfer', request, deadline ? { deadline } : {});
      options.signal?.addEventListener('abort', () => call.cancel(), { once: true });
      let response: any;
      try {
        response = await answer;
      } catch (error) {
        const e = error as grpc.ServiceError;
        if (e.code === grpc.status.CANCELLED && options.signal?.aborted) throw new Error('cancelled by the client');
        const [code] = e.metadata?.get('x-modelship-error-code') ?? [];
        return { ok: false, code: typeof code === 'string' ? code : String(STATUS_NAMES[e.code]), message: e.details };
      }
      return {
        ok: true,
        // proto3 has no "unset" string: an id that was not sent reads as ''.
        id: response.id === '' ? undefined : response.id,
        modelName: response.model_name,
        modelVersion: response.model_version,
        outputs: Object.fromEntries(
          (response.outputs as Array<{ name: string; datatype: string; shape: number[] }>).map((o, i) => [
            o.name,
            { datatype: o.datatype, shape: o.shape, data: outputValues(response, i) },
          ]),
        ),
      };
    },
  };
}
