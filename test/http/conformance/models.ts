/**
 * Real ONNX models for the OIP conformance suite: every OIP datatype passed through by Identity (so each
 * value that goes in must come back bit for bit), built with onnx-proto like examples/shared/onnx-writer.ts,
 * which does not declare FP16 or the unsigned/16-bit types.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;

/** OIP datatype → ONNX element type. */
export const ONNX_TYPES: Record<string, number> = {
  BOOL: T.BOOL,
  UINT8: T.UINT8,
  UINT16: T.UINT16,
  UINT32: T.UINT32,
  UINT64: T.UINT64,
  INT8: T.INT8,
  INT16: T.INT16,
  INT32: T.INT32,
  INT64: T.INT64,
  FP16: T.FLOAT16,
  FP32: T.FLOAT,
  FP64: T.DOUBLE,
  BYTES: T.STRING,
};

/** Every OIP datatype, in the order the `alltypes` model declares its inputs `in_<TYPE>` ([batch, 2] each). */
export const ALL_DATATYPES = Object.keys(ONNX_TYPES);

/** `alltypes`: for each datatype, `in_<TYPE>` [batch, 2] → Identity → `out_<TYPE>` [batch, 2]. */
export function allTypesModel(): Uint8Array {
  const info = (name: string, type: number): onnxProto.onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: type, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 2 }] } } },
  });
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    producerName: 'modelship-tests',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'alltypes',
      input: ALL_DATATYPES.map((t) => info(`in_${t}`, ONNX_TYPES[t] as number)),
      output: ALL_DATATYPES.map((t) => info(`out_${t}`, ONNX_TYPES[t] as number)),
      node: ALL_DATATYPES.map((t) => ({
        opType: 'Identity',
        name: `id_${t}`,
        input: [`in_${t}`],
        output: [`out_${t}`],
      })),
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
