import { describe, expect, it } from 'vitest';
import { readTensors, ReusedBuffers, writeTensors } from '../../../src/platform/node/worker-channel/tensor-codec.js';

const arena = () => new SharedArrayBuffer(1 << 16);
const f32 = (n: number, from: number) => Float32Array.from({ length: n }, (_, i) => from + i);

describe('tensor codec: reading requests into reused memory', () => {
  it('copies each message out of the arena, into the same memory per slot as the one before', () => {
    const shared = arena();
    const memory = new ReusedBuffers();
    writeTensors(shared, [{ slot: 0, tensor: { dtype: 'float32', shape: [2, 3], data: f32(6, 1) } }], [4], 1);
    const first = readTensors(shared, memory);
    const a = first.tensors[0]?.tensor.data as Float32Array;
    expect(Array.from(a)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(first.extra).toEqual([4]);
    expect(a.buffer).toBeInstanceOf(ArrayBuffer); // not the SharedArrayBuffer: onnxruntime-node refuses those

    writeTensors(shared, [{ slot: 0, tensor: { dtype: 'float32', shape: [1, 3], data: f32(3, 10) } }], [], 2);
    const b = readTensors(shared, memory).tensors[0]?.tensor.data as Float32Array;
    expect(Array.from(b)).toEqual([10, 11, 12]);
    expect(b.length).toBe(3); // exactly the message's elements, though the memory holds more
    expect(b.buffer).toBe(a.buffer); // reused, not allocated again
    // Writing the arena again does not change what was read: it is a copy.
    writeTensors(shared, [{ slot: 0, tensor: { dtype: 'float32', shape: [1, 3], data: f32(3, 50) } }], [], 3);
    expect(Array.from(b)).toEqual([10, 11, 12]);
  });

  it('keeps one buffer per slot, grows it for a bigger tensor, and handles other dtypes', () => {
    const shared = arena();
    const memory = new ReusedBuffers();
    const ids = BigInt64Array.from([1n, -2n, 3n]);
    writeTensors(
      shared,
      [
        { slot: 0, tensor: { dtype: 'float32', shape: [2], data: f32(2, 7) } },
        { slot: 1, tensor: { dtype: 'int64', shape: [3], data: ids } },
      ],
      [],
      1,
    );
    const first = readTensors(shared, memory).tensors;
    expect(first.map((t) => t.slot)).toEqual([0, 1]);
    expect(first[0]?.tensor.data).toBeInstanceOf(Float32Array);
    expect(Array.from(first[1]?.tensor.data as BigInt64Array)).toEqual([1n, -2n, 3n]);
    expect((first[0]?.tensor.data as Float32Array).buffer).not.toBe((first[1]?.tensor.data as BigInt64Array).buffer);

    const big = f32(4000, 0);
    writeTensors(shared, [{ slot: 0, tensor: { dtype: 'float32', shape: [4000], data: big } }], [], 2);
    const grown = readTensors(shared, memory).tensors[0]?.tensor.data as Float32Array;
    expect(grown.length).toBe(4000);
    expect(grown[3999]).toBe(3999);
  });

  it('with copy: true, every message gets memory of its own; without a copy, views on the arena', () => {
    const shared = arena();
    writeTensors(shared, [{ slot: 0, tensor: { dtype: 'float32', shape: [2], data: f32(2, 1) } }], [], 1);
    const own1 = readTensors(shared, true).tensors[0]?.tensor.data as Float32Array;
    const own2 = readTensors(shared, true).tensors[0]?.tensor.data as Float32Array;
    expect(own1.buffer).not.toBe(own2.buffer);
    const view = readTensors(shared, false).tensors[0]?.tensor.data as Float32Array;
    expect(view.buffer).toBe(shared);
  });
});
