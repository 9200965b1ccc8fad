import { ModelshipError } from '../../errors/index.js';
import { predictVersioned, type Servable, type VersionedPrediction } from '../../serving/servable.js';
import type { OutboundResponse } from '../exchange.js';
import { predictOptions, VERSION_HEADER, type RouteContext } from '../route-context.js';
import { json } from '../responses.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads `outputs` (a list of output names) from a request body, if present. An empty list asks for every output,
 * as absence does: that is what Triton answers to `"outputs": []` on the Open Inference Protocol, and the simple
 * protocol follows it so the two agree.
 */
export function readRequestedOutputs(value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new ModelshipError('INVALID_INPUT', `"${field}" must be an array of output names.`);
  }
  return value.length === 0 ? undefined : value;
}

/**
 * `POST /predict` and `POST /models/{name}[/versions/{v}]/predict`: body `{"inputs": {...}}` (or an array for
 * a one-input model), optional `"outputs": ["name"]`; answers `{"model", "version", "outputs": {name: nested}}`
 * with the version that answered (a deployment routes between versions) also in `x-modelship-version`.
 *
 * Written with `then` rather than `async`/`await` so that no suspended frame holds the parsed body while the
 * prediction is queued and running (see `predictVersioned`).
 */
export function handlePredict(ctx: RouteContext, model: Servable): Promise<OutboundResponse> {
  return ctx.body().then((body) => startPredict(ctx, model, body));
}

function startPredict(ctx: RouteContext, model: Servable, body: unknown): Promise<OutboundResponse> {
  if (!isObject(body) || !('inputs' in body)) {
    throw new ModelshipError(
      'INVALID_INPUT',
      'The body must be a JSON object with "inputs": an object keyed by input name, or an array for a one-input model.',
    );
  }
  const outputs = readRequestedOutputs(body.outputs, 'outputs');
  const name = model.name;
  const options = predictOptions(ctx);
  return predictVersioned(model, body.inputs as never, {
    ...options,
    ...(outputs === undefined ? {} : { outputs }),
  }).then((answer) => {
    try {
      // `id`: the request id (also in x-request-id) that feedback names this answer by.
      return json({ id: options.requestId, model: name, version: answer.version, outputs: answer.outputs }, 200, {
        [VERSION_HEADER]: answer.version,
      });
    } catch (error) {
      throw unanswered(answer, error);
    }
  });
}

/**
 * Tells a deployment that the answer its version gave could not be sent (an output the protocol cannot
 * encode), so the 500 the caller gets counts against that version; returns the error to throw.
 */
export function unanswered(answer: VersionedPrediction, error: unknown): unknown {
  answer.answerFailed?.(error);
  return error;
}

/** A model's description for `GET /models` and `GET /models/{name}`. */
export function describeModel(model: Servable): Record<string, unknown> {
  return {
    name: model.name,
    version: model.version,
    state: model.state,
    platform: model.platform,
    inputs: model.signature.inputs,
    outputs: model.signature.outputs,
    metadata: model.metadata,
  };
}
