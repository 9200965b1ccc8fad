import { describe, expect, it } from 'vitest';
import { HEADER_LENGTH, oipHttpAnswer } from '../../src/http/oip/http-infer.js';
import type { OipInferResponse } from '../../src/http/oip/infer-request.js';

/** Splits a binary OIP answer as tritonclient does: the JSON header of `Inference-Header-Content-Length` bytes, then the blobs. */
function split(body: Uint8Array, headerLength: string | undefined): { head: { outputs: unknown[] }; rest: Uint8Array } {
  const n = Number(headerLength);
  return {
    head: JSON.parse(new TextDecoder().decode(body.subarray(0, n))) as { outputs: unknown[] },
    rest: body.subarray(n),
  };
}

function answer(name: string, jsonValues: number, raw: Uint8Array): OipInferResponse {
  return {
    model_name: name,
    model_version: '1',
    outputs: [
      {
        name: 'scores',
        datatype: 'FP32',
        shape: [jsonValues],
        data: Array.from({ length: jsonValues }, (_, i) => i / 7),
      },
      {
        name: 'bytes',
        datatype: 'UINT8',
        shape: [raw.byteLength],
        parameters: { binary_data_size: raw.byteLength },
        raw,
      },
    ],
  } as OipInferResponse;
}

describe('OIP binary answers', () => {
  it('puts the JSON header, then the binary outputs, with the header length in Inference-Header-Content-Length', () => {
    const raw = Uint8Array.of(1, 2, 3, 250);
    const res = oipHttpAnswer(answer('mnist', 3, raw), { 'x-modelship-version': '1' });
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers['x-modelship-version']).toBe('1');
    const { head, rest } = split(res.body as Uint8Array, res.headers[HEADER_LENGTH]);
    expect(head.outputs).toHaveLength(2);
    expect(Array.from(rest)).toEqual([1, 2, 3, 250]);
  });

  it('encodes headers longer than the scratch space and with non-ASCII names byte for byte', () => {
    const raw = Uint8Array.of(9, 8, 7);
    // Thousands of JSON values beside a binary output: a header of tens of kilobytes.
    const res = oipHttpAnswer(answer('modèle-分類', 5000, raw), {});
    const body = res.body as Uint8Array;
    expect(Number(res.headers[HEADER_LENGTH])).toBeGreaterThan(16 * 1024);
    const { head, rest } = split(body, res.headers[HEADER_LENGTH]);
    expect((head as unknown as { model_name: string }).model_name).toBe('modèle-分類');
    expect((head.outputs[0] as { data: number[] }).data).toHaveLength(5000);
    expect(Array.from(rest)).toEqual([9, 8, 7]);
  });

  it('gives each answer its own bytes: a later answer does not change an earlier one', () => {
    const first = oipHttpAnswer(answer('a', 1, Uint8Array.of(1)), {});
    const copy = Uint8Array.from(first.body as Uint8Array);
    oipHttpAnswer(answer('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 2, Uint8Array.of(2, 2)), {});
    expect(Array.from(first.body as Uint8Array)).toEqual(Array.from(copy));
    expect(split(first.body as Uint8Array, first.headers[HEADER_LENGTH]).head).toMatchObject({ model_name: 'a' });
  });
});
