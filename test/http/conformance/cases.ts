/**
 * The OIP conformance table: what every transport of the Open Inference Protocol must answer, written once
 * and driven by one driver per transport (`http-driver.ts` here; a gRPC driver drives the same table). A case
 * says what a client sends in protocol terms (tensors, which of them travel as raw bytes, requested outputs,
 * parameters) and what it must get back; the driver turns it into its transport's bytes and parses the answer
 * the way that transport's official client does.
 */

/** One input tensor: `data` flat in row-major order, as JSON values; `binary` sends it as raw bytes. */
export interface CaseTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: number[];
  readonly data: ReadonlyArray<number | boolean | string>;
  readonly binary?: boolean;
}

/** A requested output: `binary` asks for raw bytes, `classification` for the top N classes. */
export interface CaseOutput {
  readonly name: string;
  readonly binary?: boolean;
  readonly classification?: number;
}

/** An inference call and what it must answer. */
export interface InferCase {
  readonly title: string;
  readonly model: string;
  readonly version?: string;
  readonly id?: string;
  readonly parameters?: Record<string, unknown>;
  readonly inputs: readonly CaseTensor[];
  readonly outputs?: readonly CaseOutput[];
  /** The outputs expected (by name; data flat, decoded to JSON values), or the error. */
  readonly expect:
    | { readonly outputs: Record<string, { datatype: string; shape: number[]; data?: unknown[] }> }
    | { readonly error: { readonly code: string; readonly message?: RegExp } };
}

/** What a driver answers for an inference: outputs decoded to flat JSON values, or an error. */
export type InferResult =
  | {
      readonly ok: true;
      readonly id: string | undefined;
      readonly modelName: string;
      readonly modelVersion: string;
      readonly outputs: Record<string, { datatype: string; shape: number[]; data: unknown[] }>;
    }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** A transport: the OIP operations by their gRPC names. */
export interface OipDriver {
  readonly name: string;
  serverLive(): Promise<boolean>;
  serverReady(): Promise<boolean>;
  serverMetadata(): Promise<{ name: string; version: string; extensions: string[] }>;
  modelReady(model: string, version?: string): Promise<boolean>;
  modelMetadata(model: string, version?: string): Promise<Record<string, unknown>>;
  modelConfig(model: string, version?: string): Promise<Record<string, unknown>>;
  modelStatistics(model?: string, version?: string): Promise<Array<Record<string, any>>>;
  infer(c: InferCase, options?: InferOptions): Promise<InferResult>;
}

/** How a driver sends one inference. */
export interface InferOptions {
  /** Send every input as raw bytes and ask every output back raw (tritonclient's default). */
  readonly allBinary?: boolean;
  /** The client's deadline (HTTP: tritonclient's `timeout` parameter; gRPC: the call deadline). */
  readonly deadlineMs?: number;
  /** Cancels the call from the client's side (HTTP: the connection is closed; gRPC: the call is cancelled). */
  readonly signal?: AbortSignal;
}

/** Values every datatype round-trips exactly ([2, 2] each; FP16/FP32 values are exactly representable). */
export const VALUES: Record<string, Array<number | boolean | string>> = {
  BOOL: [true, false, false, true],
  UINT8: [0, 255, 7, 128],
  UINT16: [0, 65535, 1, 32768],
  UINT32: [0, 4294967295, 1, 2147483648],
  UINT64: [0, Number.MAX_SAFE_INTEGER, 1, 2 ** 40],
  INT8: [-128, 127, 0, -1],
  INT16: [-32768, 32767, 0, -1],
  INT32: [-2147483648, 2147483647, 0, -1],
  INT64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 0, -1],
  FP16: [0.5, -2, 65504, 0.0999755859375],
  FP32: [1.5, -0.25, 3.4028234663852886e38, 1.1754943508222875e-38],
  FP64: [Math.PI, -1e300, 0, 5e-324],
  BYTES: ['hello', '', 'ünïcödé ✓', 'a:b:c'],
};

const tensor = (datatype: string, binary?: boolean): CaseTensor => ({
  name: `in_${datatype}`,
  datatype,
  shape: [2, 2],
  data: VALUES[datatype] as CaseTensor['data'],
  ...(binary === undefined ? {} : { binary }),
});

const echo = (datatypes: readonly string[]): Record<string, { datatype: string; shape: number[]; data: unknown[] }> =>
  Object.fromEntries(datatypes.map((t) => [`out_${t}`, { datatype: t, shape: [2, 2], data: VALUES[t] as unknown[] }]));

const ALL = Object.keys(VALUES);

/** The table (`digit`: a real MNIST digit's 784 pixels). `alltypes` passes every datatype through; `digits` is MNIST with labels in its metadata. */
export function inferCases(digit: readonly number[]): InferCase[] {
  return [
    {
      title: 'every datatype, JSON in and out',
      model: 'alltypes',
      id: 'all-json',
      inputs: ALL.map((t) => tensor(t)),
      expect: { outputs: echo(ALL) },
    },
    {
      title: 'every datatype, binary in and out',
      model: 'alltypes',
      inputs: ALL.map((t) => tensor(t, true)),
      outputs: ALL.map((t) => ({ name: `out_${t}`, binary: true })),
      expect: { outputs: echo(ALL) },
    },
    {
      title: 'binary and JSON mixed in one request, and in one answer',
      model: 'alltypes',
      id: 'mixed',
      inputs: ALL.map((t, i) => tensor(t, i % 2 === 0)),
      outputs: ALL.map((t, i) => ({ name: `out_${t}`, binary: i % 3 === 0 })),
      expect: { outputs: echo(ALL) },
    },
    {
      title: 'requested outputs only',
      model: 'alltypes',
      inputs: ALL.map((t) => tensor(t)),
      outputs: [{ name: 'out_FP16' }, { name: 'out_BYTES' }],
      expect: { outputs: echo(['FP16', 'BYTES']) },
    },
    {
      title: 'a version by number',
      model: 'digits',
      version: '1',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 784], data: digit }],
      outputs: [{ name: 'label' }],
      expect: { outputs: { label: { datatype: 'INT64', shape: [1] } } },
    },
    {
      title: 'classification with labels from model metadata',
      model: 'digits',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 784], data: digit }],
      outputs: [{ name: 'probabilities', classification: 3 }],
      expect: { outputs: { probabilities: { datatype: 'BYTES', shape: [1, 3] } } },
    },
    {
      title: 'unknown model',
      model: 'nope',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }],
      expect: { error: { code: 'MODEL_NOT_FOUND' } },
    },
    {
      title: 'unknown version',
      model: 'digits',
      version: '9',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 784], data: digit }],
      expect: { error: { code: 'VERSION_NOT_FOUND' } },
    },
    {
      title: 'datatype the model does not declare',
      model: 'digits',
      inputs: [{ name: 'pixels', datatype: 'FP64', shape: [1, 784], data: digit }],
      expect: { error: { code: 'INVALID_INPUT', message: /expects datatype FP32, got FP64/ } },
    },
    {
      title: 'shape that disagrees with the data',
      model: 'digits',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [2, 784], data: digit }],
      expect: { error: { code: 'INVALID_INPUT' } },
    },
    {
      title: 'unknown requested output',
      model: 'digits',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 784], data: digit }],
      outputs: [{ name: 'logits' }],
      expect: { error: { code: 'INVALID_INPUT', message: /Unknown output "logits"/ } },
    },
    {
      title: 'classification of a BYTES output',
      model: 'alltypes',
      inputs: ALL.map((t) => tensor(t)),
      outputs: [{ name: 'out_BYTES', classification: 1 }],
      expect: { error: { code: 'INVALID_INPUT', message: /cannot be classified/ } },
    },
  ];
}
