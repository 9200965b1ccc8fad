/**
 * Raw OIP tensor bytes as a client builds and reads them, written independently of the server's
 * src/http/oip/raw-tensor.ts: numpy's `tobytes()` on a little-endian machine (what tritonclient's
 * `set_data_from_numpy(binary_data=True)` sends) and `serialize_byte_tensor` / `deserialize_bytes_tensor`
 * (tritonclient/utils) for BYTES: each element a 4-byte little-endian length, then its bytes.
 */
import { fromFloat16Bits, toFloat16Bits } from '../../../src/core/dtype.js';

const SIZES: Record<string, number> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

/** The bytes of flat JSON values of `datatype`. */
export function toBytes(datatype: string, values: ReadonlyArray<number | boolean | string>): Uint8Array {
  if (datatype === 'BYTES') {
    const parts = values.map((v) => new TextEncoder().encode(String(v)));
    const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
    const view = new DataView(out.buffer);
    let o = 0;
    for (const p of parts) {
      view.setUint32(o, p.length, true);
      out.set(p, o + 4);
      o += 4 + p.length;
    }
    return out;
  }
  const size = SIZES[datatype] as number;
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  values.forEach((raw, i) => {
    const v = Number(raw);
    const o = i * size;
    switch (datatype) {
      case 'BOOL':
      case 'UINT8':
        view.setUint8(o, v);
        break;
      case 'INT8':
        view.setInt8(o, v);
        break;
      case 'UINT16':
        view.setUint16(o, v, true);
        break;
      case 'INT16':
        view.setInt16(o, v, true);
        break;
      case 'FP16':
        view.setUint16(o, toFloat16Bits(v), true);
        break;
      case 'UINT32':
        view.setUint32(o, v, true);
        break;
      case 'INT32':
        view.setInt32(o, v, true);
        break;
      case 'FP32':
        view.setFloat32(o, v, true);
        break;
      case 'UINT64':
        view.setBigUint64(o, BigInt(v), true);
        break;
      case 'INT64':
        view.setBigInt64(o, BigInt(v), true);
        break;
      default:
        view.setFloat64(o, v, true);
    }
  });
  return out;
}

/** Flat JSON values from the bytes of `datatype` (as `np.frombuffer(...).tolist()` gives them). */
export function fromBytes(datatype: string, bytes: Uint8Array): unknown[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (datatype === 'BYTES') {
    const out: string[] = [];
    for (let o = 0; o < bytes.length;) {
      const n = view.getUint32(o, true);
      out.push(new TextDecoder().decode(bytes.subarray(o + 4, o + 4 + n)));
      o += 4 + n;
    }
    return out;
  }
  const size = SIZES[datatype] as number;
  const out: unknown[] = [];
  for (let o = 0; o < bytes.length; o += size) {
    switch (datatype) {
      case 'BOOL':
        out.push(view.getUint8(o) !== 0);
        break;
      case 'UINT8':
        out.push(view.getUint8(o));
        break;
      case 'INT8':
        out.push(view.getInt8(o));
        break;
      case 'UINT16':
        out.push(view.getUint16(o, true));
        break;
      case 'INT16':
        out.push(view.getInt16(o, true));
        break;
      case 'FP16':
        out.push(fromFloat16Bits(view.getUint16(o, true)));
        break;
      case 'UINT32':
        out.push(view.getUint32(o, true));
        break;
      case 'INT32':
        out.push(view.getInt32(o, true));
        break;
      case 'FP32':
        out.push(view.getFloat32(o, true));
        break;
      case 'UINT64':
        out.push(Number(view.getBigUint64(o, true)));
        break;
      case 'INT64':
        out.push(Number(view.getBigInt64(o, true)));
        break;
      default:
        out.push(view.getFloat64(o, true));
    }
  }
  return out;
}
