import type { BatcherConfig } from '../../serving/batching/index.js';
import type { Servable } from '../../serving/servable.js';
import type { DType, TensorSpec } from '../../spec/tensor.js';

/**
 * Triton's model configuration (`GET v2/models/{name}[/versions/{v}]/config`, gRPC `ModelConfig`), as Triton
 * answers it for an ONNX Runtime model: its `ModelConfig` protobuf (model_config.proto) printed as JSON with the
 * proto field names. modelship fills in what it knows of the model (name, platform, batching, tensors) and the
 * fields a client may read with their Triton defaults.
 */

/** Triton's `DataType` enum names (model_config.proto) by modelship dtype: BYTES tensors are `TYPE_STRING`. */
const CONFIG_TYPES: Record<DType, string> = {
  bool: 'TYPE_BOOL',
  uint8: 'TYPE_UINT8',
  uint16: 'TYPE_UINT16',
  uint32: 'TYPE_UINT32',
  uint64: 'TYPE_UINT64',
  int8: 'TYPE_INT8',
  int16: 'TYPE_INT16',
  int32: 'TYPE_INT32',
  int64: 'TYPE_INT64',
  float16: 'TYPE_FP16',
  float32: 'TYPE_FP32',
  float64: 'TYPE_FP64',
  string: 'TYPE_STRING',
};

/** The `data_type` of a dtype in a model configuration (`float32` → `TYPE_FP32`). */
export function toConfigDataType(dtype: DType): string {
  return CONFIG_TYPES[dtype];
}

/** A configuration's input (`ModelInput`). */
export interface ConfigInput {
  name: string;
  data_type: string;
  format: 'FORMAT_NONE';
  dims: number[];
  is_shape_tensor: false;
  allow_ragged_batch: false;
  optional: false;
}

/** A configuration's output (`ModelOutput`). */
export interface ConfigOutput {
  name: string;
  data_type: string;
  dims: number[];
  label_filename: string;
  is_shape_tensor: false;
}

/** The configuration body. */
export interface ModelConfig {
  name: string;
  platform: string;
  backend: string;
  version_policy: { latest: { num_versions: number } };
  max_batch_size: number;
  input: ConfigInput[];
  output: ConfigOutput[];
  batch_input: [];
  batch_output: [];
  dynamic_batching?: {
    preferred_batch_size: number[];
    max_queue_delay_microseconds: number;
    preserve_ordering: boolean;
    priority_levels: number;
    default_priority_level: number;
    default_queue_policy: { timeout_action: 'REJECT'; default_timeout_microseconds: number; max_queue_size: number };
  };
  instance_group: Array<{ name: string; kind: 'KIND_CPU'; count: number }>;
  default_model_filename: string;
  parameters: Record<string, never>;
  model_warmup: [];
}

/** The batching a loaded model runs with, when the servable says (a `Model` does; a deployment may not). */
function batchingOf(model: Servable): BatcherConfig | undefined {
  const b = (model as { batching?: BatcherConfig }).batching;
  return b !== undefined && typeof b === 'object' && b.enabled === true ? b : undefined;
}

/**
 * Triton's dims for a tensor: dynamic dimensions are -1, an undeclared shape is `[-1]`; when the model batches
 * (`max_batch_size > 0`) the first dimension is the batch and is left out, as Triton's config does.
 */
function dims(spec: TensorSpec, batched: boolean): number[] {
  if (spec.shape === null) return [-1];
  const all = spec.shape.map((d) => d ?? -1);
  return batched ? all.slice(1) : all;
}

/**
 * The configuration of a served model. `max_batch_size` is modelship's batching limit when the model batches
 * (its inputs and outputs have a dynamic first dimension and batching is on), else 0, and then `dims` hold
 * every dimension; `dynamic_batching` is present only when batching is on, with its delay in microseconds.
 * `instance_group.count` is the number of workers when the model reports it.
 *
 * @example
 * ```ts
 * modelConfig(model).input; // [{ name: 'pixels', data_type: 'TYPE_FP32', dims: [784], ... }]
 * ```
 */
export function modelConfig(model: Servable): ModelConfig {
  const batching = batchingOf(model);
  const batched = batching !== undefined;
  const stats = (model as { stats?: () => { concurrency?: number } }).stats;
  const count = typeof stats === 'function' ? (stats.call(model).concurrency ?? 1) : 1;
  const config: ModelConfig = {
    name: model.name,
    platform: model.platform,
    backend: model.platform === 'onnxruntime_onnx' ? 'onnxruntime' : model.platform,
    version_policy: { latest: { num_versions: 1 } },
    max_batch_size: batched ? batching.maxBatchSize : 0,
    input: model.signature.inputs.map((s) => ({
      name: s.name,
      data_type: toConfigDataType(s.dtype),
      format: 'FORMAT_NONE',
      dims: dims(s, batched),
      is_shape_tensor: false,
      allow_ragged_batch: false,
      optional: false,
    })),
    output: model.signature.outputs.map((s) => ({
      name: s.name,
      data_type: toConfigDataType(s.dtype),
      dims: dims(s, batched),
      label_filename: '',
      is_shape_tensor: false,
    })),
    batch_input: [],
    batch_output: [],
    instance_group: [{ name: model.name, kind: 'KIND_CPU', count }],
    default_model_filename: 'model.onnx',
    parameters: {},
    model_warmup: [],
  };
  if (batched) {
    config.dynamic_batching = {
      preferred_batch_size: [...batching.preferredBatchSizes],
      max_queue_delay_microseconds: Math.round(batching.maxQueueDelayMs * 1000),
      preserve_ordering: false,
      // modelship's three priorities (high, normal, low) as Triton's levels 1..3, normal the default.
      priority_levels: 3,
      default_priority_level: 2,
      default_queue_policy: {
        timeout_action: 'REJECT',
        default_timeout_microseconds: 0,
        max_queue_size: batching.maxQueueSize,
      },
    };
  }
  return config;
}
