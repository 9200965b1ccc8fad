/**
 * A small ONNX graph writer used by the demo, the tests and the benchmarks to build real models from weights
 * we trained ourselves. It writes standard `ModelProto`s through `onnx-proto`, so any ONNX runtime can load them.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;

/** Element types the writer can declare for graph inputs, outputs and initializers. */
export type OnnxElementType = 'float32' | 'float64' | 'int32' | 'int64' | 'bool' | 'uint8' | 'int8' | 'string';

const ELEMENT_TYPE: Record<OnnxElementType, number> = {
  float32: DataType.FLOAT,
  float64: DataType.DOUBLE,
  int32: DataType.INT32,
  int64: DataType.INT64,
  bool: DataType.BOOL,
  uint8: DataType.UINT8,
  int8: DataType.INT8,
  string: DataType.STRING,
};

/** A graph input or output. A `string` or `null` dimension is dynamic; `shape: null` leaves the rank unknown. */
export interface ValueSpec {
  name: string;
  type: OnnxElementType;
  shape: ReadonlyArray<number | string | null> | null;
}

/** A constant tensor stored in the model (weights, biases, shapes). */
export interface Initializer {
  name: string;
  dims: readonly number[];
  data: Float32Array | BigInt64Array | Int32Array;
}

/** One operator in the graph. Attribute values are ints, floats, int lists or strings. */
export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attributes?: Record<string, number | number[] | string | { float: number }>;
}

/** Everything that makes up a single-graph model. */
export interface ModelSpec {
  name?: string;
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: NodeSpec[];
  initializers?: Initializer[];
  opset?: number;
  metadata?: Record<string, string>;
  docString?: string;
}

function valueInfo(spec: ValueSpec): onnxProto.onnx.IValueInfoProto {
  const tensorType: onnxProto.onnx.TypeProto.ITensor = { elemType: ELEMENT_TYPE[spec.type] };
  if (spec.shape) {
    tensorType.shape = {
      dim: spec.shape.map((d) =>
        typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {},
      ),
    };
  }
  return { name: spec.name, type: { tensorType } };
}

function initializer(init: Initializer): onnxProto.onnx.ITensorProto {
  const base = { name: init.name, dims: [...init.dims] };
  if (init.data instanceof Float32Array) {
    return {
      ...base,
      dataType: DataType.FLOAT,
      rawData: new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength),
    };
  }
  if (init.data instanceof BigInt64Array) {
    return {
      ...base,
      dataType: DataType.INT64,
      rawData: new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength),
    };
  }
  return {
    ...base,
    dataType: DataType.INT32,
    rawData: new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength),
  };
}

function attribute(name: string, value: NonNullable<NodeSpec['attributes']>[string]): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') return { name, type: T.INT, i: value };
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  return { name, type: T.FLOAT, f: value.float };
}

/** Serializes a model to ONNX protobuf bytes (IR version 8, default opset 17). */
export function writeOnnxModel(spec: ModelSpec): Uint8Array {
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    producerName: 'modelship-examples',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: spec.opset ?? 17 }],
    docString: spec.docString ?? '',
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: spec.name ?? 'graph',
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
      initializer: (spec.initializers ?? []).map(initializer),
      node: spec.nodes.map((n, i) => ({
        opType: n.op,
        name: n.name ?? `${n.op.toLowerCase()}_${i}`,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attributes ?? {}).map(([k, v]) => attribute(k, v)),
      })),
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** One dense layer: `weights` is row-major `[inputs, outputs]`. */
export interface DenseLayer {
  weights: Float32Array;
  bias: Float32Array;
  inputs: number;
  outputs: number;
}

/**
 * A multi-layer perceptron classifier: Gemm (+ Relu between layers), then Softmax and ArgMax.
 * Input `inputName` is `[batch, features]` float32 with a dynamic batch dimension; outputs are
 * `probabilities` `[batch, classes]` float32 and `label` `[batch]` int64.
 */
export function writeMlpClassifier(options: {
  layers: DenseLayer[];
  inputName?: string;
  metadata?: Record<string, string>;
  name?: string;
}): Uint8Array {
  const { layers } = options;
  const inputName = options.inputName ?? 'input';
  const first = layers[0];
  const last = layers[layers.length - 1];
  if (!first || !last) throw new Error('writeMlpClassifier needs at least one layer');
  const nodes: NodeSpec[] = [];
  const initializers: Initializer[] = [];
  let current = inputName;
  layers.forEach((layer, i) => {
    initializers.push(
      { name: `W${i}`, dims: [layer.inputs, layer.outputs], data: layer.weights },
      { name: `b${i}`, dims: [layer.outputs], data: layer.bias },
    );
    const out = i === layers.length - 1 ? 'logits' : `hidden${i}`;
    nodes.push({ op: 'Gemm', inputs: [current, `W${i}`, `b${i}`], outputs: [out] });
    current = out;
    if (i < layers.length - 1) {
      nodes.push({ op: 'Relu', inputs: [out], outputs: [`${out}_relu`] });
      current = `${out}_relu`;
    }
  });
  nodes.push({ op: 'Softmax', inputs: [current], outputs: ['probabilities'], attributes: { axis: 1 } });
  nodes.push({ op: 'ArgMax', inputs: ['probabilities'], outputs: ['label'], attributes: { axis: 1, keepdims: 0 } });
  return writeOnnxModel({
    name: options.name ?? 'mlp',
    inputs: [{ name: inputName, type: 'float32', shape: ['batch', first.inputs] }],
    outputs: [
      { name: 'probabilities', type: 'float32', shape: ['batch', last.outputs] },
      { name: 'label', type: 'int64', shape: ['batch'] },
    ],
    nodes,
    initializers,
    metadata: options.metadata,
  });
}
