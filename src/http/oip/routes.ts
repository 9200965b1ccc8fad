import { ModelshipError } from '../../errors/index.js';
import { predictVersioned, type Servable } from '../../serving/servable.js';
import type { OutboundResponse } from '../exchange.js';
import { predictOptions, requireMethod, VERSION_HEADER, type RouteContext } from '../route-context.js';
import { decodeOipInputs, encodeOipOutput, toOipTensorMetadata } from './codec.js';
import { json } from '../responses.js';
import { readRequestedOutputs, unanswered } from '../routes/predict.js';

declare const MODELSHIP_VERSION: string | undefined;
const SERVER_VERSION = typeof MODELSHIP_VERSION === 'string' ? MODELSHIP_VERSION : '0.0.0-dev';

/**
 * KServe v2 / Open Inference Protocol routes: server and model health, metadata, and `infer`.
 * https://kserve.github.io/website/docs/concepts/architecture/data-plane/v2-protocol
 */
export async function handleV2(ctx: RouteContext): Promise<OutboundResponse | undefined> {
  const s = ctx.segments;
  if (s.length === 1) {
    requireMethod(ctx, 'GET');
    return json({ name: 'modelship', version: SERVER_VERSION, extensions: [] });
  }
  if (s[1] === 'health' && s.length === 3 && (s[2] === 'live' || s[2] === 'ready')) {
    requireMethod(ctx, 'GET');
    if (s[2] === 'live') return json({ live: true });
    const ready = ctx.table.all.every((m) => m.state === 'ready');
    return json({ ready }, ready ? 200 : 503);
  }
  if (s[1] !== 'models' || s[2] === undefined) return undefined;
  const name = s[2];
  // /v2/models/{name}[/versions/{v}][/ready|/infer]
  let version: string | undefined;
  let action = s.slice(3);
  if (action[0] === 'versions') {
    if (action[1] === undefined) return undefined;
    version = action[1];
    action = action.slice(2);
  }
  if (action.length === 0) {
    requireMethod(ctx, 'GET');
    return json(metadata(ctx, ctx.table.get(name, version), version === undefined));
  }
  if (action.length === 1 && action[0] === 'ready') {
    requireMethod(ctx, 'GET');
    const model = ctx.table.get(name, version);
    const ready = model.state === 'ready';
    return json({ name: model.name, version: model.version, ready }, ready ? 200 : 503);
  }
  if (action.length === 1 && action[0] === 'infer') {
    requireMethod(ctx, 'POST');
    return infer(ctx, ctx.table.get(name, version));
  }
  return undefined;
}

function metadata(ctx: RouteContext, model: Servable, allVersions: boolean): Record<string, unknown> {
  const versions = allVersions ? ctx.table.versions(model.name).map((m) => m.version) : [model.version];
  return {
    name: model.name,
    versions,
    platform: model.platform,
    inputs: model.signature.inputs.map(toOipTensorMetadata),
    outputs: model.signature.outputs.map(toOipTensorMetadata),
  };
}

/** Like `handlePredict`, written so that no suspended frame holds the parsed body during inference. */
function infer(ctx: RouteContext, model: Servable): Promise<OutboundResponse> {
  return ctx.body().then((body) => startInfer(ctx, model, body));
}

function startInfer(ctx: RouteContext, model: Servable, body: unknown): Promise<OutboundResponse> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ModelshipError('INVALID_INPUT', 'The body must be an inference request object with "inputs".');
  }
  const request = body as { id?: unknown; inputs?: unknown; outputs?: unknown };
  const id = request.id;
  if (id !== undefined && typeof id !== 'string') {
    throw new ModelshipError('INVALID_INPUT', '"id" must be a string.');
  }
  const inputs = decodeOipInputs(request.inputs, model.signature.inputs);
  let outputs: string[] | undefined;
  if (request.outputs !== undefined) {
    if (!Array.isArray(request.outputs) || !request.outputs.every((o) => typeof o === 'object' && o !== null)) {
      throw new ModelshipError('INVALID_INPUT', '"outputs" must be an array of { name } objects.');
    }
    outputs = readRequestedOutputs(
      request.outputs.map((o: { name?: unknown }) => o.name),
      'outputs[].name',
    );
  }
  const name = model.name;
  return predictVersioned(model, inputs, {
    ...predictOptions(ctx),
    ...(outputs === undefined ? {} : { outputs }),
  }).then((answer) => {
    const version = answer.version;
    try {
      return json(
        {
          model_name: name,
          model_version: version,
          id: id ?? globalThis.crypto.randomUUID(),
          outputs: Object.entries(answer.outputs).map(([n, t]) => encodeOipOutput(n, t)),
        },
        200,
        { [VERSION_HEADER]: version },
      );
    } catch (error) {
      throw unanswered(answer, error);
    }
  });
}
