import type { DType } from '../spec/tensor.js';

/** Open Inference Protocol (KServe v2) datatype names by modelship dtype. */
const TO_OIP: Record<DType, string> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};

const FROM_OIP = new Map(Object.entries(TO_OIP).map(([k, v]) => [v, k as DType]));

/** Every OIP datatype modelship knows, for messages. */
export const OIP_DATATYPES: readonly string[] = [...FROM_OIP.keys()];

/** The OIP datatype for a dtype (`float32` → `FP32`). */
export function toOipDatatype(dtype: DType): string {
  return TO_OIP[dtype];
}

/** The dtype for an OIP datatype (`FP32` → `float32`), or undefined for one modelship does not know. */
export function fromOipDatatype(datatype: string): DType | undefined {
  return FROM_OIP.get(datatype);
}
