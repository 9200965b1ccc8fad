import { describe, expect, it } from 'vitest';
import { parseDvcFile, parseDvcLock } from '../../src/lineage/dvc.js';
import { detectUnresolvedPointer, parseLfsPointer } from '../../src/core/lfs-pointer.js';
import { parseLineage } from '../../src/lineage/schema.js';
import { addOneModel } from '../helpers/models.js';

const OID = 'a'.repeat(64);
const POINTER = `version https://git-lfs.github.com/spec/v1\noid sha256:${OID}\nsize 12345\n`;
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('pointer detection', () => {
  it('parses Git LFS pointers (LF or CRLF) and nothing else', () => {
    expect(parseLfsPointer(POINTER)).toEqual({ oid: `sha256:${OID}`, size: 12345 });
    expect(parseLfsPointer(POINTER.replace(/\n/g, '\r\n'))).toEqual({ oid: `sha256:${OID}`, size: 12345 });
    expect(parseLfsPointer('version https://example.com/spec\noid sha256:x\nsize 1\n')).toBeUndefined();
  });

  it('recognizes an LFS pointer or DVC metadata in place of a model, never a real model', () => {
    expect(detectUnresolvedPointer(bytes(POINTER))).toEqual({ kind: 'git-lfs', oid: `sha256:${OID}`, size: 12345 });
    const dvc = 'outs:\n- md5: 0123456789abcdef0123456789abcdef\n  size: 4242\n  hash: md5\n  path: model.onnx\n';
    expect(detectUnresolvedPointer(bytes(dvc))).toEqual({
      kind: 'dvc',
      md5: '0123456789abcdef0123456789abcdef',
      path: 'model.onnx',
    });
    expect(detectUnresolvedPointer(addOneModel())).toBeUndefined();
    expect(detectUnresolvedPointer(bytes(`${POINTER}${' '.repeat(2000)}`))).toBeUndefined();
    expect(detectUnresolvedPointer(new Uint8Array([0xff, 0xfe, 0x00]))).toBeUndefined();
  });
});

describe('DVC files', () => {
  it('reads the outs of a .dvc file, skipping outs without an md5', () => {
    const text =
      'outs:\n- md5: 0123456789abcdef0123456789abcdef.dir\n  size: 100\n  nfiles: 2\n  hash: md5\n  path: images\n- etag: abc\n  path: remote.csv\n';
    expect(parseDvcFile(text, 'data/images.dvc')).toEqual([
      { path: 'images', md5: '0123456789abcdef0123456789abcdef.dir', size: 100, source: 'data/images.dvc' },
    ]);
  });

  it('reads every stage of dvc.lock, schema 2.0 and the older layout', () => {
    const v2 = `schema: '2.0'\nstages:\n  prepare:\n    cmd: python prepare.py\n    deps:\n    - path: data/raw.csv\n      md5: ffffffffffffffffffffffffffffffff\n    outs:\n    - path: data/prepared.csv\n      hash: md5\n      md5: 11111111111111111111111111111111\n      size: 10\n  train:\n    cmd: python train.py\n    outs:\n    - path: model.onnx\n      md5: 22222222222222222222222222222222\n`;
    expect(parseDvcLock(v2, 'dvc.lock')).toEqual([
      { path: 'data/prepared.csv', md5: '11111111111111111111111111111111', size: 10, source: 'dvc.lock:prepare' },
      { path: 'model.onnx', md5: '22222222222222222222222222222222', source: 'dvc.lock:train' },
    ]);
    const v1 = 'train:\n  cmd: x\n  outs:\n  - path: m.onnx\n    md5: 33333333333333333333333333333333\n';
    expect(parseDvcLock(v1, 'dvc.lock')).toEqual([
      { path: 'm.onnx', md5: '33333333333333333333333333333333', source: 'dvc.lock:train' },
    ]);
    expect(() => parseDvcLock('a: [', 'dvc.lock')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('lineage schema', () => {
  it('accepts complete lineage and names each problem in invalid lineage', () => {
    const lineage = {
      run: { runId: 'abc', trackingUri: 'file:///mlruns', experimentId: '1' },
      git: { commit: 'b'.repeat(40), dirty: false, branch: 'main' },
      datasets: [{ path: 'data/train.csv', sha256: 'c'.repeat(64), size: 3 }],
      dvc: [{ path: 'data/raw.csv', md5: 'd'.repeat(32), source: 'data/raw.csv.dvc' }],
      lfs: [{ path: 'data/big.bin', oid: `sha256:${'e'.repeat(64)}`, size: 9 }],
    };
    expect(parseLineage(lineage)).toEqual(lineage);
    expect(() => parseLineage({ git: { commit: 'HEAD', dirty: 'no' }, extra: 1 })).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/(?=[\s\S]*git\.commit)(?=[\s\S]*git\.dirty)(?=[\s\S]*"extra")/),
      }),
    );
  });
});
