/**
 * The copy of a nested-array input (`[[1, 2], [3, 4]]`) into typed storage once input.ts has checked its shape,
 * with the path of the offending element in every error.
 */
import { ModelshipError } from '../errors/index.js';
import type { TensorSpec, TensorStorage } from '../spec/tensor.js';
import { describe, elementError, type ElementWriter } from './input-elements.js';

/** 2^897: a float32 value times this overflows float64 when the value is at least 2^127 (float32 max ≈ 2^128). */
const F32_GUARD = 2 ** 897;

/** What {@link fillNested} carries down the levels of one nested array. */
export interface NestedFill {
  readonly spec: TensorSpec;
  readonly data: TensorStorage;
  readonly shape: readonly number[];
  readonly write: ElementWriter;
  /** Refuse NaN and ±Infinity (checked inline on the float fast path). */
  readonly finite: boolean;
  /** Indexes of the enclosing levels, for error paths. */
  readonly index: number[];
}

/** `x[2][5]`: the path of element `i` under the current `index`. */
function nestedPath(fill: NestedFill, i: number): string {
  return `${fill.spec.name}${fill.index.map((k) => `[${k}]`).join('')}[${i}]`;
}

/**
 * Writes the leaves of `node` (the level `axis` of a nested array) into `fill.data` from `offset`; returns the
 * offset after them. This is the hot loop of every JSON prediction: one function V8 optimizes once (not
 * closures made per call), and float rows are copied without a writer call per element. It recurses once per
 * dimension, which `MAX_RANK` (input.ts) bounds.
 */
export function fillNested(fill: NestedFill, node: unknown[], axis: number, offset: number): number {
  const { data, shape } = fill;
  if (axis === shape.length - 1) {
    if (data instanceof Float32Array || data instanceof Float64Array) {
      const start = offset;
      // A quick filter, then a precise look only if it fires: `x * 0` is 0 for finite x and NaN otherwise, and
      // NaN sticks in the sum. Scaled by `guard`, float32 rows also fire for |x| ≥ 2^127, which covers every
      // finite number float32 would store as Infinity (1e39); the second pass reads what was actually stored.
      const guard = data instanceof Float32Array ? F32_GUARD : 1;
      let sum = 0;
      for (let i = 0; i < node.length; i++) {
        const v = node[i];
        if (typeof v !== 'number') throw elementError(fill.spec, nestedPath(fill, i), v);
        data[offset++] = v;
        sum += v * guard * 0;
      }
      if (sum !== 0 && fill.finite) {
        for (let i = 0; i < node.length; i++) {
          const s = data[start + i] as number;
          if (s - s !== 0) throw elementError(fill.spec, nestedPath(fill, i), node[i]);
        }
      }
      return offset;
    }
    for (let i = 0; i < node.length; i++) {
      if (!fill.write(data, offset, node[i])) throw elementError(fill.spec, nestedPath(fill, i), node[i]);
      offset++;
    }
    return offset;
  }
  const want = shape[axis + 1] as number;
  for (let i = 0; i < node.length; i++) {
    const item = node[i];
    if (!Array.isArray(item) || item.length !== want) {
      const got = Array.isArray(item) ? `an array of ${item.length}` : describe(item);
      throw new ModelshipError(
        'INVALID_INPUT',
        `${nestedPath(fill, i)}: expected an array of ${want} (like ${nestedPath(fill, 0)}), got ${got}.`,
        { details: { input: fill.spec.name, path: nestedPath(fill, i) } },
      );
    }
    fill.index.push(i);
    offset = fillNested(fill, item, axis + 1, offset);
    fill.index.pop();
  }
  return offset;
}
