/**
 * What a registry hands back as a baseline pointer is outside input (a version tag, artifact metadata, customer
 * metadata anyone with write access can edit): anything but `{ file, sha256 }` is no pointer, and a file whose
 * digest or JSON is wrong becomes a value the load refuses with INVALID_BASELINE, never a thrown surprise.
 */
import { describe, expect, it } from 'vitest';
import {
  BASELINE_METADATA_KEY,
  createBaselineReader,
  encodeBaseline,
  readPointer,
} from '../../src/registries/kit/baseline-metadata.js';
import { parseBaseline } from '../../src/monitoring/baseline-schema.js';

const sha = 'a'.repeat(64);

describe('baseline pointers', () => {
  it('reads { file, sha256 } as an object or JSON, and nothing else', () => {
    expect(readPointer({ file: 'modelship-baseline.json', sha256: sha })).toEqual({
      file: 'modelship-baseline.json',
      sha256: sha,
    });
    expect(readPointer(JSON.stringify({ file: 'x.json', sha256: sha, extra: 1 }))).toEqual({
      file: 'x.json',
      sha256: sha,
    });
    for (const bad of [
      undefined,
      null,
      '',
      '{',
      'null',
      '[]',
      42,
      { file: '', sha256: sha },
      { file: 'x', sha256: sha.toUpperCase() },
      { file: 'x', sha256: 'abc' },
      { file: 7, sha256: sha },
      { sha256: sha },
    ])
      expect(readPointer(bad)).toBeUndefined();
  });

  it('refuses a file whose sha256 or JSON is wrong (INVALID_BASELINE when loaded), and downloads a good one once', async () => {
    const read = createBaselineReader();
    const { bytes, pointer } = await encodeBaseline({ format: 'something' }, 'b.json');
    let downloads = 0;
    const get = async (): Promise<Uint8Array> => {
      downloads++;
      return bytes;
    };
    expect(await read(pointer, get)).toEqual({ [BASELINE_METADATA_KEY]: { format: 'something' } });
    expect(await read(pointer, get)).toEqual({ [BASELINE_METADATA_KEY]: { format: 'something' } });
    expect(downloads).toBe(1);
    expect(await read(undefined, get)).toEqual({});

    const replaced = await read({ ...pointer, sha256: sha }, get);
    expect(() => parseBaseline(replaced[BASELINE_METADATA_KEY])).toThrow(
      expect.objectContaining({ code: 'INVALID_BASELINE' }),
    );
    const notJson = new TextEncoder().encode('{not json');
    const { pointer: p2 } = await encodeBaseline(null, 'c.json');
    const digest = Buffer.from(await crypto.subtle.digest('SHA-256', notJson)).toString('hex');
    const broken = await read({ ...p2, sha256: digest }, async () => notJson);
    expect(() => parseBaseline(broken[BASELINE_METADATA_KEY])).toThrow(
      expect.objectContaining({ code: 'INVALID_BASELINE' }),
    );
  });

  it('lets a download error through as the registry reported it', async () => {
    const read = createBaselineReader();
    await expect(read({ file: 'x', sha256: sha }, () => Promise.reject(new Error('registry down')))).rejects.toThrow(
      'registry down',
    );
  });
});
