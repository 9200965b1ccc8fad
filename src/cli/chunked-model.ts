/**
 * `modelship validate` on samples bigger than one request may be (a model takes at most `maxRows` rows per
 * call, 4096 by default): the CLI hands `evaluateCandidate` — the one implementation of the checks, shared with
 * `switchTo({ validate })` — models whose `predict` runs the sample in chunks of `maxRows` rows and joins the
 * outputs along the first dimension. The chunking lives here, in the caller, because only the CLI reads samples
 * of unbounded size; a deployment's `validate.inputs` is one request.
 */
import { Tensor, type Model, type PredictInput, type PredictOutputs, type ServableModel } from '../index.node.js';

/** Rows per call when the model sets no `maxRows` (the library's default). */
export const DEFAULT_CHUNK_ROWS = 4096;

/** Splits a sample (rows as JSON: an array of rows, or `{ input: rows }`) into parts of at most `rows` rows. */
export function chunkSample(input: PredictInput, rows: number): PredictInput[] {
  if (Array.isArray(input)) {
    const parts: PredictInput[] = [];
    for (let i = 0; i < input.length; i += rows) parts.push(input.slice(i, i + rows) as PredictInput);
    return parts;
  }
  const entries = Object.entries(input as Record<string, unknown>);
  const total = entries.reduce((n, [, v]) => Math.max(n, Array.isArray(v) ? v.length : 0), 0);
  if (total <= rows || !entries.every(([, v]) => Array.isArray(v))) return [input];
  const parts: PredictInput[] = [];
  for (let i = 0; i < total; i += rows)
    parts.push(Object.fromEntries(entries.map(([k, v]) => [k, (v as unknown[]).slice(i, i + rows)])) as PredictInput);
  return parts;
}

/** Joins the outputs of consecutive chunks along their first dimension. */
export function joinOutputs(parts: readonly PredictOutputs[]): PredictOutputs {
  const first = parts[0];
  if (first === undefined || parts.length === 1) return first ?? {};
  const out: PredictOutputs = {};
  for (const [name, t] of Object.entries(first)) {
    const tensors = parts.map((p) => p[name] as Tensor);
    const rows = tensors.reduce((n, x) => n + (x.shape[0] ?? 0), 0);
    const length = tensors.reduce((n, x) => n + x.data.length, 0);
    let data: Tensor['data'];
    if (Array.isArray(t.data)) data = tensors.flatMap((x) => x.data as unknown[]) as Tensor['data'];
    else {
      const Ctor = t.data.constructor as new (
        n: number,
      ) => Tensor['data'] & { set(a: ArrayLike<unknown>, o: number): void };
      const joined = new Ctor(length);
      let offset = 0;
      for (const x of tensors) {
        joined.set(x.data as ArrayLike<unknown>, offset);
        offset += x.data.length;
      }
      data = joined;
    }
    out[name] = new Tensor(t.dtype, data as never, [rows, ...t.shape.slice(1)]);
  }
  return out;
}

/** `model`, with `predict` running its input in chunks of `rows` rows (one call when it fits). */
export function chunkedModel(model: Model, rows: number = DEFAULT_CHUNK_ROWS): ServableModel {
  return {
    get name() {
      return model.name;
    },
    get version() {
      return model.version;
    },
    get signature() {
      return model.signature;
    },
    get state() {
      return model.state;
    },
    get platform() {
      return model.platform;
    },
    get metadata() {
      return model.metadata;
    },
    async predict(input, options) {
      const parts = chunkSample(input, rows);
      if (parts.length === 1) return model.predict(input, options);
      const outputs: PredictOutputs[] = [];
      for (const part of parts) outputs.push(await model.predict(part, options));
      return joinOutputs(outputs);
    },
    ready: () => model.ready(),
    close: () => model.close(),
  };
}
