import { ModelshipError } from '../../errors/index.js';
import type { Servable } from '../../serving/servable.js';
import type { OutboundResponse } from '../exchange.js';
import { predictOptions, requireMethod, VERSION_HEADER, type RouteContext } from '../route-context.js';
import { compressAnswer, inProtocol, json } from '../responses.js';
import { toOipTensorMetadata } from './codec.js';
import { oipHttpAnswer, readOipHttpRequest } from './http-infer.js';
import { runOipInfer } from './infer-request.js';
import { modelConfig } from './model-config.js';
import { hasStats, modelStats, type ModelStat } from './statistics.js';
import { handleFeedback } from '../routes/feedback.js';
import { repositoryEnabled } from '../routes/repository.js';

declare const MODELSHIP_VERSION: string | undefined;
const SERVER_VERSION = typeof MODELSHIP_VERSION === 'string' ? MODELSHIP_VERSION : '0.0.0-dev';

/**
 * The OIP extensions this server implements, as `GET /v2` lists them (Triton's names). Only what is served:
 * a route that adds an extension adds its name here.
 */
export const OIP_EXTENSIONS: readonly string[] = [
  'binary_tensor_data',
  'classification',
  'model_configuration',
  'statistics',
];

/** A route under `/v2/models/{name}[/versions/{v}]/{action}`. */
interface ModelRoute {
  readonly method: 'GET' | 'POST';
  run(ctx: RouteContext, name: string, version: string | undefined): OutboundResponse | Promise<OutboundResponse>;
}

/** The per-model routes by action ('' is the model itself). Add a route here to serve a new action. */
const MODEL_ROUTES: Readonly<Record<string, ModelRoute>> = {
  '': { method: 'GET', run: (ctx, name, version) => json(metadata(ctx, ctx.table.get(name, version), version)) },
  ready: {
    method: 'GET',
    run: (ctx, name, version) => {
      const model = ctx.table.get(name, version);
      const ready = model.state === 'ready';
      return json({ name: model.name, version: model.version, ready }, ready ? 200 : 503);
    },
  },
  infer: { method: 'POST', run: (ctx, name, version) => infer(ctx, ctx.table.get(name, version)) },
  config: { method: 'GET', run: (ctx, name, version) => json(modelConfig(ctx.table.get(name, version))) },
  stats: { method: 'GET', run: (ctx, name, version) => json({ model_stats: stats(ctx, name, version) }) },
  feedback: { method: 'POST', run: (ctx, name, version) => handleFeedback(ctx, ctx.table.get(name, version)) },
};

/**
 * KServe v2 / Open Inference Protocol routes: server and model health, metadata, `infer` (JSON and the binary
 * tensor data extension, classification), model configuration and statistics. Every answer under `/v2`,
 * errors and unknown paths included, is in OIP's shape: errors are `{"error": "<message>", "code"}`.
 * https://kserve.github.io/website/docs/concepts/architecture/data-plane/v2-protocol
 */
export async function handleV2(ctx: RouteContext): Promise<OutboundResponse> {
  try {
    return await routeV2(ctx);
  } catch (error) {
    throw inProtocol(error, 'oip');
  }
}

function routeV2(ctx: RouteContext): OutboundResponse | Promise<OutboundResponse> {
  const s = ctx.segments;
  if (s.length === 1) {
    requireMethod(ctx, 'GET');
    const extensions = repositoryEnabled(ctx) ? [...OIP_EXTENSIONS, 'model_repository'] : OIP_EXTENSIONS;
    return json({ name: 'modelship', version: SERVER_VERSION, extensions });
  }
  if (s[1] === 'health' && s.length === 3 && (s[2] === 'live' || s[2] === 'ready')) {
    requireMethod(ctx, 'GET');
    if (s[2] === 'live') return json({ live: true });
    const ready = ctx.table.all.every((m) => m.state === 'ready');
    return json({ ready }, ready ? 200 : 503);
  }
  if (s[1] === 'models' && s.length === 3 && s[2] === 'stats') {
    requireMethod(ctx, 'GET');
    return json({ model_stats: ctx.table.all.flatMap((m) => modelStats(m)) });
  }
  if (s[1] === 'models' && s[2] !== undefined) {
    // /v2/models/{name}[/versions/{v}][/{action}]
    const name = s[2];
    let version: string | undefined;
    let rest = s.slice(3);
    if (rest[0] === 'versions' && rest[1] !== undefined) {
      version = rest[1];
      rest = rest.slice(2);
    }
    const route = rest.length <= 1 ? MODEL_ROUTES[rest[0] ?? ''] : undefined;
    if (route !== undefined && Object.hasOwn(MODEL_ROUTES, rest[0] ?? '')) {
      requireMethod(ctx, route.method);
      return route.run(ctx, name, version);
    }
  }
  throw new ModelshipError(
    'ROUTE_NOT_FOUND',
    `No OIP route for ${ctx.method} ${ctx.request.path}; see GET /v2 and GET /v2/models/{name} for what is served.`,
  );
}

function metadata(ctx: RouteContext, model: Servable, version: string | undefined): Record<string, unknown> {
  const versions = version === undefined ? ctx.table.versions(model.name).map((m) => m.version) : [model.version];
  return {
    name: model.name,
    versions,
    platform: model.platform,
    inputs: model.signature.inputs.map(toOipTensorMetadata),
    outputs: model.signature.outputs.map(toOipTensorMetadata),
  };
}

/** Statistics of every version of `name`, or of `version` (which a deployment served under `name` may have answered). */
function stats(ctx: RouteContext, name: string, version: string | undefined): ModelStat[] {
  const served = ctx.table.versions(name);
  if (version === undefined) return served.flatMap((m) => modelStats(m));
  const model = served.find((m) => m.version === version) ?? served.find((m) => hasStats(m, version));
  return modelStats(model ?? ctx.table.get(name, version), version);
}

/** Written with `then` so that no suspended frame holds the request's bytes while the model runs. */
function infer(ctx: RouteContext, model: Servable): Promise<OutboundResponse> {
  const startedAt = performance.now();
  const request = ctx.request;
  return readOipHttpRequest(request, ctx.maxBodyBytes)
    .then((parsed) => runOipInfer(model, parsed, { predict: predictOptions(ctx), startedAt }))
    .then((answer) => {
      const response = oipHttpAnswer(answer, { [VERSION_HEADER]: answer.model_version });
      const accept = request.header('accept-encoding');
      return accept === null ? response : compressAnswer(accept, response);
    });
}
