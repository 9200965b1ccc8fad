/**
 * Element types a tensor can hold. Names follow onnxruntime's JavaScript API so values pass through unchanged.
 */
export type DType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool'
  | 'string';

/** The storage each dtype uses. `float16` is stored as raw IEEE half bits; `bool` as 0/1 bytes. */
export interface DTypeStorage {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  uint16: Uint16Array;
  uint32: Uint32Array;
  uint64: BigUint64Array;
  bool: Uint8Array;
  string: string[];
}

/** Any storage a tensor may use. */
export type TensorStorage = DTypeStorage[DType];

/** A dense, row-major tensor: the currency between the validation layer and inference backends. */
export interface TensorLike {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TensorStorage;
}

/**
 * Description of one model input or output.
 * `shape` uses `null` for a dynamic dimension; `shape: null` means the model does not declare its rank.
 * `dimNames` keeps the symbolic names (`"batch"`) where the model gives them.
 */
export interface TensorSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: ReadonlyArray<number | null> | null;
  readonly dimNames?: ReadonlyArray<string | null>;
}

/** A model's inputs and outputs, in the order the model declares them. */
export interface ModelSignature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}
