import { describe, expect, it } from 'vitest';
import { ModelshipError, assertAlias, isPathRef, parseNamedRef } from 'modelship';

describe('model references', () => {
  it('parses name, name/latest, name/3 and name@alias', () => {
    expect(parseNamedRef('mnist')).toEqual({ name: 'mnist', selector: { kind: 'latest' } });
    expect(parseNamedRef('mnist/latest')).toEqual({ name: 'mnist', selector: { kind: 'latest' } });
    expect(parseNamedRef('mnist/3')).toEqual({ name: 'mnist', selector: { kind: 'version', version: '3' } });
    expect(parseNamedRef('mnist@production')).toEqual({
      name: 'mnist',
      selector: { kind: 'alias', alias: 'production' },
    });
  });

  it('refuses malformed references with INVALID_REF', () => {
    for (const ref of ['', 'a/b/c', 'mnist/0', 'mnist/x', 'mnist@', '@prod', '../evil', 'mnist/3@prod', 'a b']) {
      let error: unknown;
      try {
        parseNamedRef(ref);
      } catch (e) {
        error = e;
      }
      expect(ModelshipError.hasCode(error, 'INVALID_REF'), ref).toBe(true);
    }
  });

  it('recognizes paths', () => {
    for (const p of ['./m.onnx', '../m.onnx', '/abs/m', 'file:///m.onnx', 'C:\\m.onnx', 'model.onnx'])
      expect(isPathRef(p), p).toBe(true);
    for (const r of ['mnist', 'mnist/3', 'mnist@prod']) expect(isPathRef(r), r).toBe(false);
  });

  it('reserves latest and version-like aliases', () => {
    expect(() => assertAlias('latest')).toThrow(/reserved/);
    expect(() => assertAlias('v3')).toThrow(/reserved/);
    expect(() => assertAlias('champion')).not.toThrow();
  });
});
