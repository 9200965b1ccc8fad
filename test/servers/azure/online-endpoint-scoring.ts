/**
 * What runs inside an Azure ML online deployment, over a real model loaded by modelship (onnxruntime-node):
 * - `mlflowScoring`: the no-code MLflow scoring script. `input_data` as a list is read as one numpy array, as an
 *   object of lists as named arrays (how-to-deploy-mlflow-models, "Input structure"); a request without
 *   `input_data` raises ("Request must contain a top level key named 'input_data'"), which the inference server
 *   answers with 500. The ONNX flavor returns a dict of arrays, which `_get_jsonable_obj(result,
 *   pandas_orient="records")` turns into an object of (nested) lists.
 * - `tritonScoring`: a Triton deployment's `/v2/models/<m>/infer` (KServe v2 JSON).
 */
import type { ServableModel } from 'modelship';
import { toOipDatatype } from '../../../src/core/oip-datatype.js';
import type { ContainerAnswer } from './online-endpoint.js';

type Nested = number | boolean | Nested[];

/** A tensor as nested lists, as numpy's `tolist()` gives them (int64 as numbers, bool as true/false). */
function nest(data: ArrayLike<number | bigint | boolean>, shape: readonly number[], bool: boolean): Nested {
  const values = Array.from(data, (v) => (bool ? Boolean(v) : Number(v)));
  const build = (offset: number, dims: readonly number[]): Nested => {
    if (dims.length === 0) return values[offset]!;
    const [d, ...inner] = dims as [number, ...number[]];
    const step = inner.reduce((a, b) => a * b, 1);
    return Array.from({ length: d }, (_, i) => build(offset + i * step, inner));
  };
  return build(0, shape);
}

/** The MLflow no-code scoring script over `model`. */
export function mlflowScoring(model: ServableModel): (body: unknown) => Promise<ContainerAnswer> {
  return async (body) => {
    const input = (body as { input_data?: unknown } | null)?.input_data;
    if (input === undefined || input === null)
      return { status: 500, body: "Exception: Request must contain a top level key named 'input_data'" };
    const named: Record<string, Nested> = Array.isArray(input)
      ? { [model.signature.inputs[0]!.name]: input as Nested }
      : (input as Record<string, Nested>);
    try {
      // np.asarray of the lists, each converted to the input's dtype, as the ONNX flavor feeds onnxruntime.
      const out = await model.predict(named as never);
      return {
        status: 200,
        body: Object.fromEntries(
          Object.entries(out).map(([name, t]) => [
            name,
            nest(t.data as ArrayLike<number | bigint | boolean>, t.shape, t.dtype === 'bool'),
          ]),
        ),
      };
    } catch (error) {
      return { status: 500, body: `Exception: ${(error as Error).message}` };
    }
  };
}

/** A Triton deployment's v2 `/infer` over `model`. */
export function tritonScoring(model: ServableModel): (body: unknown) => Promise<ContainerAnswer> {
  return async (body) => {
    const inputs = (body as { inputs?: { name: string; shape: number[]; data: number[] }[] }).inputs ?? [];
    const feeds = Object.fromEntries(
      inputs.map((t) => [t.name, { data: Float32Array.from(t.data), shape: t.shape, dtype: 'float32' as const }]),
    );
    const out = await model.predict(feeds as never);
    return {
      status: 200,
      body: {
        model_name: model.name,
        outputs: Object.entries(out).map(([name, t]) => ({
          name,
          datatype: toOipDatatype(t.dtype),
          shape: t.shape,
          data: Array.from(t.data as ArrayLike<number | bigint>, Number),
        })),
      },
    };
  };
}
