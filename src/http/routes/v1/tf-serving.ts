import { ModelshipError } from '../../../errors/index.js';
import { predictVersioned, type Servable } from '../../../serving/servable.js';
import type { DType } from '../../../spec/tensor.js';
import type { OutboundResponse } from '../../exchange.js';
import { parseJsonBytes, readBody } from '../../body.js';
import { compressAnswer, inProtocol, json } from '../../responses.js';
import { predictOptions, requireMethod, VERSION_HEADER, type RouteContext } from '../../route-context.js';
import { unanswered } from '../predict.js';
import { readTfRequest, tfAnswer } from './tf-formats.js';

/**
 * TF Serving's REST API, which KServe's v1 protocol follows (tensorflow/serving `g3doc/api_rest.md`):
 * - `POST /v1/models/{name}[/versions/{v}]:predict`, row (`instances`) and columnar (`inputs`) formats;
 * - `GET /v1/models/{name}[/versions/{v}]`: model status (`GetModelStatusResponse` as JSON), plus KServe v1's
 *   `name` and `ready` beside it, so both kinds of client read their fields from one answer;
 * - `GET /v1/models/{name}[/versions/{v}]/metadata`: the signature (`GetModelMetadataResponse` as JSON);
 * - `GET /v1/models`: KServe v1's model list.
 * Every error under `/v1` is TF Serving's `{"error": "<message>"}`, with modelship's `code` beside it.
 */
export async function handleV1(ctx: RouteContext): Promise<OutboundResponse> {
  try {
    return await routeV1(ctx);
  } catch (error) {
    throw inProtocol(error, 'tfserving');
  }
}

function notFound(ctx: RouteContext): ModelshipError {
  return new ModelshipError(
    'ROUTE_NOT_FOUND',
    `No TF Serving route for ${ctx.method} ${ctx.request.path}; use POST /v1/models/{name}[/versions/{v}]:predict or GET /v1/models/{name}.`,
  );
}

function routeV1(ctx: RouteContext): OutboundResponse | Promise<OutboundResponse> {
  const s = ctx.segments;
  if (s[1] !== 'models') throw notFound(ctx);
  if (s.length === 2) {
    requireMethod(ctx, 'GET');
    return json({ models: ctx.table.names });
  }
  // /v1/models/{name}[/versions/{v}][:verb | /metadata]
  let rest = s.slice(2);
  let verb: string | undefined;
  const last = rest[rest.length - 1] as string;
  const colon = last.lastIndexOf(':');
  if (colon > 0) {
    verb = last.slice(colon + 1);
    rest = [...rest.slice(0, -1), last.slice(0, colon)];
  }
  const name = rest[0] as string;
  let version: string | undefined;
  let tail = rest.slice(1);
  if (tail[0] === 'versions' && tail[1] !== undefined) {
    version = tail[1];
    tail = tail.slice(2);
  } else if (tail[0] === 'labels') {
    throw new ModelshipError(
      'ROUTE_NOT_FOUND',
      'Version labels are not served here; address a version with /versions/{v}, or leave it out for the default.',
    );
  }
  if (verb !== undefined && tail.length === 0) {
    requireMethod(ctx, 'POST');
    if (verb === 'predict') return predict(ctx, ctx.table.get(name, version));
    throw new ModelshipError(
      'ROUTE_NOT_FOUND',
      `:${verb.slice(0, 20)} is not served; modelship answers :predict (classify and regress need tf.Example models).`,
    );
  }
  if (verb === undefined && tail.length === 0) {
    requireMethod(ctx, 'GET');
    return json(status(ctx, name, version));
  }
  if (verb === undefined && tail.length === 1 && tail[0] === 'metadata') {
    requireMethod(ctx, 'GET');
    return json(metadata(ctx.table.get(name, version)));
  }
  throw notFound(ctx);
}

/** TF Serving's `ModelVersionStatus.State` for a model state. */
const STATES = { warming: 'LOADING', ready: 'AVAILABLE', closing: 'UNLOADING', closed: 'END', failed: 'END' } as const;

function status(ctx: RouteContext, name: string, version: string | undefined): Record<string, unknown> {
  const models = version === undefined ? ctx.table.versions(name) : [ctx.table.get(name, version)];
  return {
    // GetModelStatusResponse: versions as strings (int64 in proto JSON), status an absl code name.
    model_version_status: models.map((m) => ({
      version: m.version,
      state: STATES[m.state],
      status:
        m.state === 'failed'
          ? { error_code: 'UNKNOWN', error_message: 'The model failed to load; the server log has the details.' }
          : { error_code: 'OK', error_message: '' },
    })),
    name,
    ready: models.every((m) => m.state === 'ready'),
  };
}

/** TF's `DataType` enum names for the signature (`float32` → `DT_FLOAT`). */
const TF_TYPES: Record<DType, string> = {
  float32: 'DT_FLOAT',
  float64: 'DT_DOUBLE',
  float16: 'DT_HALF',
  int8: 'DT_INT8',
  int16: 'DT_INT16',
  int32: 'DT_INT32',
  int64: 'DT_INT64',
  uint8: 'DT_UINT8',
  uint16: 'DT_UINT16',
  uint32: 'DT_UINT32',
  uint64: 'DT_UINT64',
  bool: 'DT_BOOL',
  string: 'DT_STRING',
};

function metadata(model: Servable): Record<string, unknown> {
  const tensor = (s: Servable['signature']['inputs'][number]): Record<string, unknown> => ({
    dtype: TF_TYPES[s.dtype],
    tensor_shape:
      s.shape === null
        ? { dim: [], unknown_rank: true }
        : { dim: s.shape.map((d) => ({ size: String(d ?? -1), name: '' })), unknown_rank: false },
    name: s.name,
  });
  const byName = (specs: Servable['signature']['inputs']): Record<string, unknown> =>
    Object.fromEntries(specs.map((s) => [s.name, tensor(s)]));
  return {
    model_spec: { name: model.name, signature_name: '', version: model.version },
    metadata: {
      signature_def: {
        signature_def: {
          serving_default: {
            inputs: byName(model.signature.inputs),
            outputs: byName(model.signature.outputs),
            method_name: 'tensorflow/serving/predict',
          },
        },
      },
    },
  };
}

/**
 * Written with `then` so that no suspended frame holds the parsed body while the model runs. The body is read
 * as JSON whatever its `Content-Type`, as TF Serving does: the `curl -d '{"instances": ...}'` one-liners of its
 * docs send `application/x-www-form-urlencoded`.
 */
function predict(ctx: RouteContext, model: Servable): Promise<OutboundResponse> {
  return readBody(ctx.request, ctx.maxBodyBytes).then((bytes) => {
    const body = parseJsonBytes(bytes);
    const { format, inputs } = readTfRequest(body, model.signature);
    return predictVersioned(model, inputs as never, predictOptions(ctx)).then((answer) => {
      let response: OutboundResponse;
      try {
        response = json(tfAnswer(format, answer.outputs), 200, { [VERSION_HEADER]: answer.version });
      } catch (error) {
        throw unanswered(answer, error);
      }
      const accept = ctx.request.header('accept-encoding');
      return accept === null ? response : compressAnswer(accept, response);
    });
  });
}
