/** Raw OIP tensor bytes ↔ modelship storage: views without copies, one copy when unaligned, typed refusals. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../src/core/tensor.js';
import { decodeRawTensor, encodeRawTensor } from '../../src/http/oip/raw-tensor.js';
import { elementCount } from '../../src/core/dtype.js';
import { expectedStorage, specWithValues, thrown } from '../property/arbitraries.js';
import { VALUES } from './conformance/cases.js';
import { fromBytes, toBytes } from './conformance/wire.js';

const DTYPES: Record<string, string> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};

describe('raw tensor bytes', () => {
  it('decodes every datatype and encodes it back to the same bytes', () => {
    for (const [datatype, dtype] of Object.entries(DTYPES)) {
      const bytes = toBytes(datatype, VALUES[datatype] as never);
      const data = decodeRawTensor('x', dtype as never, [2, 2], bytes);
      const tensor = new Tensor(dtype as never, data as never, [2, 2]);
      expect(tensor.toFlatArray(), datatype).toEqual(VALUES[datatype]);
      expect(fromBytes(datatype, encodeRawTensor(tensor)), datatype).toEqual(VALUES[datatype]);
    }
  });

  it('gives a view over aligned bytes (no copy), and copies once when they are not aligned', () => {
    const body = new Uint8Array(4 + 16);
    body.set(toBytes('FP32', [1, 2, 3, 4]), 4);
    const view = decodeRawTensor('x', 'float32', [4], body.subarray(4)) as Float32Array;
    expect(view.buffer).toBe(body.buffer);
    expect(Array.from(view)).toEqual([1, 2, 3, 4]);
    const odd = new Uint8Array(3 + 16);
    odd.set(toBytes('FP32', [1, 2, 3, 4]), 3);
    const copy = decodeRawTensor('x', 'float32', [4], Buffer.from(odd.buffer).subarray(3)) as Float32Array;
    expect(copy.buffer).not.toBe(odd.buffer);
    expect(Array.from(copy)).toEqual([1, 2, 3, 4]);
    // Outputs: a view over the tensor's own memory.
    const out = new Float32Array([5, 6]);
    expect(encodeRawTensor(new Tensor('float32', out, [2])).buffer).toBe(out.buffer);
  });

  it('refuses byte counts that disagree with the shape, and BYTES that do not parse, with INVALID_INPUT', () => {
    const bad = (f: () => unknown) => expect(f).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    bad(() => decodeRawTensor('x', 'float32', [3], new Uint8Array(8)));
    bad(() => decodeRawTensor('x', 'int64', [2 ** 40], new Uint8Array(8)));
    bad(() => decodeRawTensor('s', 'string', [1], new Uint8Array([5, 0, 0, 0, 104])));
    bad(() => decodeRawTensor('s', 'string', [2], new Uint8Array([0, 0, 0, 0])));
    bad(() => decodeRawTensor('s', 'string', [1e12], new Uint8Array(16)));
    expect(decodeRawTensor('b', 'bool', [2], new Uint8Array([0, 7]))).toEqual(new Uint8Array([0, 1]));
  });

  it('round-trips any tensor at any offset, and refuses any other byte count with INVALID_INPUT only', () => {
    fc.assert(
      fc.property(specWithValues, fc.integer({ min: 0, max: 7 }), fc.integer({ min: -9, max: 9 }), (v, offset, cut) => {
        const { spec, shape, flat } = v;
        const bigintSafe = flat.map((x) => (typeof x === 'bigint' ? Number(BigInt.asIntN(52, x)) : x));
        const storage = expectedStorage(spec.dtype, bigintSafe);
        const bytes = encodeRawTensor(new Tensor(spec.dtype, storage as never, shape));
        const body = new Uint8Array(offset + bytes.length + 16);
        body.set(bytes, offset);
        const exact = body.subarray(offset, offset + bytes.length);
        const decoded = decodeRawTensor('x', spec.dtype, shape, exact);
        expect(decoded.length).toBe(elementCount(shape));
        expect(Buffer.from(encodeRawTensor(new Tensor(spec.dtype, decoded as never, shape)))).toEqual(
          Buffer.from(bytes),
        );
        if (cut === 0 || spec.dtype === 'string') return;
        const wrong = body.subarray(offset, Math.max(offset, offset + bytes.length + cut));
        if (wrong.length === bytes.length) return;
        const error = thrown(() => decodeRawTensor('x', spec.dtype, shape, wrong));
        expect(error).toMatchObject({ code: 'INVALID_INPUT' });
      }),
      { numRuns: 300 },
    );
  });

  it('refuses any corruption of BYTES framing with INVALID_INPUT, never another exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 20 }), (raw, count) => {
        const error = thrown(() => decodeRawTensor('s', 'string', [count], raw));
        if (error !== undefined) expect(error).toMatchObject({ code: 'INVALID_INPUT' });
      }),
      { numRuns: 500 },
    );
  });
});
