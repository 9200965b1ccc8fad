import type { TensorLike } from '../../spec/tensor.js';

/** Outputs by name, as `predict` returns them. */
export type OutputMap = Readonly<Record<string, TensorLike>>;

/**
 * How two answers to the same input are compared: `argmax` (classifiers: the same top class per row),
 * `exact` (every value equal), `{ abs, rel }` (regressions: |a − b| ≤ abs + rel·|a| for every value), or a
 * function returning whether they agree.
 */
export type AgreementRule =
  | 'argmax'
  | 'exact'
  | { readonly abs?: number; readonly rel?: number }
  | ((primary: OutputMap, other: OutputMap) => boolean);

function argmaxRows(t: TensorLike): number[] | undefined {
  if (t.shape.length < 2) return undefined;
  const width = t.shape[t.shape.length - 1] as number;
  if (width === 0) return [];
  const data = t.data as ArrayLike<number | bigint | string | boolean>;
  const rows = data.length / width;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let i = 1; i < width; i++) if ((data[r * width + i] as number) > (data[r * width + best] as number)) best = i;
    out.push(best);
  }
  return out;
}

function sameShape(a: TensorLike, b: TensorLike): boolean {
  return a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

function valuesAgree(a: TensorLike, b: TensorLike, tolerance?: { abs: number; rel: number }): boolean {
  const x = a.data as ArrayLike<unknown>;
  const y = b.data as ArrayLike<unknown>;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) {
    const u = x[i];
    const v = y[i];
    if (tolerance !== undefined && typeof u === 'number' && typeof v === 'number') {
      if (!(Math.abs(u - v) <= tolerance.abs + tolerance.rel * Math.abs(u))) return false;
    } else if (u !== v) {
      return false;
    }
  }
  return true;
}

/**
 * Whether `other` agrees with `primary` under `rule`, over the outputs both have. With `argmax`, outputs of
 * rank ≥ 2 compare the top index of each row, and outputs of rank ≤ 1 (labels) compare exactly.
 */
export function agrees(rule: AgreementRule, primary: OutputMap, other: OutputMap): boolean {
  if (typeof rule === 'function') return rule(primary, other);
  let compared = 0;
  for (const name of Object.keys(primary)) {
    const a = primary[name];
    const b = other[name];
    if (a === undefined || b === undefined) continue;
    compared++;
    if (!sameShape(a, b)) return false;
    if (rule === 'argmax') {
      const ra = argmaxRows(a);
      const rb = argmaxRows(b);
      if (ra === undefined || rb === undefined) {
        if (!valuesAgree(a, b)) return false;
      } else if (ra.some((v, i) => v !== rb[i])) {
        return false;
      }
    } else if (!valuesAgree(a, b, rule === 'exact' ? undefined : { abs: rule.abs ?? 0, rel: rule.rel ?? 0 })) {
      return false;
    }
  }
  return compared > 0;
}
