/**
 * The Vertex AI REST operations modelship uses, as {location}-aiplatform.googleapis.com/v1 answers them
 * (cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.models):
 * - models.get on `models/<id>` (the `default` version), `models/<id>@<versionId>` or `@<alias>`;
 * - models.listVersions: `models`, paged by `pageSize`/`pageToken`, `nextPageToken` omitted on the last page;
 * - models.mergeVersionAliases on `models/<id>@<versionId>`: an alias moves from the version holding it, `-alias`
 *   removes it, and `default` can only be moved, never removed;
 * - models.upload: a long-running Operation (`done` omitted until finished, then `response` with `model` and
 *   `modelVersionId`), new model with `modelId` or new version with `parentModel`; the first version gets `default`;
 * - operations.get on the operation's name;
 * - endpoints.predict (`instances` → `predictions`, `deployedModelId`) and endpoints.rawPredict (the body as is, the
 *   serving deployed model in `X-Vertex-AI-Deployed-Model-Id`), split by the endpoint's `trafficSplit`.
 * Errors are `{"error":{"code","message","status"}}` (google.rpc.Status as JSON): 404 NOT_FOUND, 400 INVALID_ARGUMENT,
 * 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 429 RESOURCE_EXHAUSTED. Empty fields are omitted, as proto3 JSON does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from '../http-util.js';
import { takeFault, type Fault } from '../faults.js';
import { checkAuth, type TestServiceAccount } from './auth.js';

export interface VertexVersion {
  versionId: string;
  versionAliases: string[];
  versionCreateTime: string;
  displayName: string;
  artifactUri?: string;
  versionDescription?: string;
  labels?: Record<string, string>;
  metadata?: unknown;
  containerSpec?: Record<string, unknown>;
}

/** What a deployed model answers: the predictions for the instances (`:predict`), or the raw body (`:rawPredict`). */
export type DeployedHandler = (body: unknown, raw: boolean) => unknown;
/** What each endpoint call carried: the deployed model that served it and the request body. */
export interface EndpointCall {
  endpoint: string;
  deployedModelId: string;
  body: unknown;
}
export interface VertexEndpoint {
  deployed: Map<string, DeployedHandler>;
  /** deployedModelId → percent; must sum to 100. */
  trafficSplit: Record<string, number>;
}

export interface VertexState {
  project: string;
  projectNumber: string;
  location: string;
  models: Map<string, { displayName: string; createTime: string; versions: VertexVersion[] }>;
  operations: Map<string, { polls: number; result: Record<string, unknown> }>;
  /** operations.get answers `done` after this many polls of an operation. */
  pollsUntilDone: number;
  /** Largest `pageSize` honoured by listVersions (smaller in tests to exercise paging). */
  maxPageSize: number;
  endpoints: Map<string, VertexEndpoint>;
  endpointCalls: EndpointCall[];
  ignorePinHeader: boolean;
  accounts: TestServiceAccount[];
  tokens: Set<string>;
  denied: Set<string>;
  faults: Fault[];
  requests: { method: string; path: string; status: number }[];
}

export function createVertexState(accounts: TestServiceAccount[] = []): VertexState {
  return {
    project: 'modelship-test',
    projectNumber: '123456789012',
    location: 'us-central1',
    models: new Map(),
    operations: new Map(),
    pollsUntilDone: 1,
    maxPageSize: 100,
    endpoints: new Map(),
    endpointCalls: [],
    ignorePinHeader: false,
    accounts,
    tokens: new Set(),
    denied: new Set(),
    faults: [],
    requests: [],
  };
}

const STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};
class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}
const ALIAS = /^[a-z][a-zA-Z0-9-]{0,126}[a-z-0-9]$/;

function modelJson(state: VertexState, id: string, v: VertexVersion): Record<string, unknown> {
  const m = state.models.get(id);
  return {
    name: `projects/${state.projectNumber}/locations/${state.location}/models/${id}`,
    displayName: v.displayName,
    ...(v.artifactUri === undefined ? {} : { artifactUri: v.artifactUri }),
    ...(v.containerSpec === undefined ? {} : { containerSpec: v.containerSpec }),
    createTime: m?.createTime,
    updateTime: v.versionCreateTime,
    etag: `AMEw9yN${v.versionId}`,
    ...(v.labels === undefined || Object.keys(v.labels).length === 0 ? {} : { labels: v.labels }),
    ...(v.metadata === undefined ? {} : { metadata: v.metadata }),
    versionId: v.versionId,
    ...(v.versionAliases.length === 0 ? {} : { versionAliases: [...v.versionAliases] }),
    versionCreateTime: v.versionCreateTime,
    versionUpdateTime: v.versionCreateTime,
    ...(v.versionDescription === undefined ? {} : { versionDescription: v.versionDescription }),
    supportedExportFormats: [{ id: 'custom-trained', exportableContents: ['ARTIFACT'] }],
  };
}

function findVersion(state: VertexState, id: string, selector: string | undefined): VertexVersion {
  const m = state.models.get(id);
  const full = `projects/${state.project}/locations/${state.location}/models/${id}${selector === undefined ? '' : `@${selector}`}`;
  if (m === undefined) throw new RpcError(404, `Model ${full} is not found.`);
  const wanted = selector ?? 'default';
  const v = /^\d+$/.test(wanted)
    ? m.versions.find((x) => x.versionId === wanted)
    : m.versions.find((x) => x.versionAliases.includes(wanted));
  if (v === undefined) throw new RpcError(404, `Model ${full} is not found.`);
  return v;
}

function mergeAliases(state: VertexState, id: string, target: VertexVersion, aliases: string[]): void {
  const m = state.models.get(id);
  for (const a of aliases) {
    const removing = a.startsWith('-');
    const name = removing ? a.slice(1) : a;
    if (!ALIAS.test(name))
      throw new RpcError(400, `Invalid version alias ${name}: it must match [a-z][a-zA-Z0-9-]{0,126}[a-z-0-9].`);
    if (/^\d+$/.test(name)) throw new RpcError(400, 'A version alias cannot be a number.');
    if (removing) {
      if (name === 'default') throw new RpcError(400, 'Cannot remove the default alias from the default version.');
      target.versionAliases = target.versionAliases.filter((x) => x !== name);
    } else {
      for (const other of m?.versions ?? []) other.versionAliases = other.versionAliases.filter((x) => x !== name);
      target.versionAliases.push(name);
    }
  }
}

async function route(
  state: VertexState,
  method: string,
  path: string,
  body: Record<string, unknown>,
  res: ServerResponse,
): Promise<unknown> {
  const prefix = `projects/(?:${state.project}|${state.projectNumber})/locations/${state.location}`;
  const opGet = new RegExp(`^${prefix}/models/[^/]+/operations/(\\d+)$`).exec(path);
  if (opGet && method === 'GET') {
    const op = state.operations.get(opGet[1] as string);
    if (op === undefined) throw new RpcError(404, `Operation ${path} is not found.`);
    op.polls += 1;
    const meta = {
      '@type': 'type.googleapis.com/google.cloud.aiplatform.v1.UploadModelOperationMetadata',
      genericMetadata: { createTime: new Date().toISOString(), updateTime: new Date().toISOString() },
    };
    if (op.polls < state.pollsUntilDone) return { name: path, metadata: meta };
    return { name: path, metadata: meta, done: true, ...op.result };
  }
  if (new RegExp(`^${prefix}/models:upload$`).test(path) && method === 'POST') {
    const model = (body.model ?? {}) as Record<string, unknown>;
    if (typeof model.displayName !== 'string' || model.displayName === '')
      throw new RpcError(
        400,
        'List of found errors:\t1.Field: model.display_name; Message: Required field is not set.',
      );
    const container = model.containerSpec as { imageUri?: string } | undefined;
    if (typeof container?.imageUri !== 'string' || container.imageUri === '')
      throw new RpcError(400, 'Model.container_spec.image_uri is required for a custom-trained model.');
    let id: string;
    if (typeof body.parentModel === 'string') {
      id = body.parentModel.split('/').pop() as string;
      if (!state.models.has(id)) throw new RpcError(404, `Model ${body.parentModel} is not found.`);
    } else {
      id = typeof body.modelId === 'string' ? body.modelId : String(Date.now());
      if (!/^[a-z][a-z0-9_-]{0,62}$/.test(id)) throw new RpcError(400, `Invalid model id ${id}.`);
      if (state.models.has(id)) throw new RpcError(409, `Model ${prefix}/models/${id} already exists.`);
      state.models.set(id, { displayName: model.displayName, createTime: new Date().toISOString(), versions: [] });
    }
    const entry = state.models.get(id) as { versions: VertexVersion[] };
    const version: VertexVersion = {
      versionId: String(entry.versions.length + 1),
      versionAliases: [],
      versionCreateTime: new Date().toISOString(),
      displayName: model.displayName,
      ...(typeof model.artifactUri === 'string' ? { artifactUri: model.artifactUri } : {}),
      ...(typeof model.versionDescription === 'string' ? { versionDescription: model.versionDescription } : {}),
      ...(model.labels === undefined ? {} : { labels: model.labels as Record<string, string> }),
      ...(model.metadata === undefined ? {} : { metadata: model.metadata }),
      containerSpec: model.containerSpec as Record<string, unknown>,
    };
    const aliases = Array.isArray(model.versionAliases) ? (model.versionAliases as string[]) : [];
    entry.versions.push(version);
    mergeAliases(
      state,
      id,
      version,
      entry.versions.length === 1 && !aliases.includes('default') ? ['default', ...aliases] : aliases,
    );
    const opId = String(state.operations.size + 1000);
    const name = `projects/${state.projectNumber}/locations/${state.location}/models/${id}/operations/${opId}`;
    state.operations.set(opId, {
      polls: 0,
      result: {
        response: {
          '@type': 'type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse',
          model: `projects/${state.projectNumber}/locations/${state.location}/models/${id}`,
          modelVersionId: version.versionId,
        },
      },
    });
    return {
      name,
      metadata: {
        '@type': 'type.googleapis.com/google.cloud.aiplatform.v1.UploadModelOperationMetadata',
        genericMetadata: { createTime: version.versionCreateTime, updateTime: version.versionCreateTime },
      },
    };
  }
  const model = new RegExp(`^${prefix}/models/([^/@:]+)(?:@([^/:]+))?(?::(\\w+))?$`).exec(path);
  if (model) {
    const [, id, selector, verb] = model as unknown as [string, string, string | undefined, string | undefined];
    if (verb === undefined && method === 'GET') return modelJson(state, id, findVersion(state, id, selector));
    if (verb === 'listVersions' && method === 'GET') {
      const m = state.models.get(id);
      if (m === undefined) throw new RpcError(404, `Model ${path.replace(/:listVersions$/, '')} is not found.`);
      const url = new URL(`http://x/?${res.req.url?.split('?')[1] ?? ''}`);
      const size = Math.min(Number(url.searchParams.get('pageSize') ?? 100) || 100, state.maxPageSize);
      const token = url.searchParams.get('pageToken');
      const start = token === null || token === '' ? 0 : Number(Buffer.from(token, 'base64url').toString());
      if (!Number.isInteger(start) || start < 0 || start > m.versions.length)
        throw new RpcError(400, 'Invalid page token.');
      const page = m.versions.slice(start, start + size);
      const next =
        start + size < m.versions.length ? Buffer.from(String(start + size)).toString('base64url') : undefined;
      return {
        models: page.map((v) => modelJson(state, id, v)),
        ...(next === undefined ? {} : { nextPageToken: next }),
      };
    }
    if (verb === 'mergeVersionAliases' && method === 'POST') {
      if (selector === undefined || !/^\d+$/.test(selector))
        throw new RpcError(400, 'The model version must be specified with a version id.');
      const v = findVersion(state, id, selector);
      mergeAliases(state, id, v, Array.isArray(body.versionAliases) ? (body.versionAliases as string[]) : []);
      return modelJson(state, id, v);
    }
  }
  const endpoint = new RegExp(`^${prefix}/endpoints/([^/:]+):(predict|rawPredict)$`).exec(path);
  if (endpoint && method === 'POST') {
    const e = state.endpoints.get(endpoint[1] as string);
    if (e === undefined) throw new RpcError(404, `Endpoint ${path.split(':')[0]} is not found.`);
    const raw = endpoint[2] === 'rawPredict';
    // Vertex documents X-Vertex-AI-Deployed-Model-Id on answers; honouring it on requests is what modelship's pin
    // relies on, and `ignorePinHeader` plays an endpoint that does not (the answer's header then tells).
    let chosen = state.ignorePinHeader
      ? undefined
      : (res.req.headers['x-vertex-ai-deployed-model-id'] as string | undefined);
    if (chosen === undefined) {
      // The endpoint's trafficSplit picks the deployed model (randomly by percentage, as Vertex does).
      let roll = Math.random() * 100;
      for (const [id, pct] of Object.entries(e.trafficSplit)) {
        roll -= pct;
        chosen ??= roll < 0 ? id : undefined;
      }
      chosen ??= Object.keys(e.trafficSplit)[0];
    }
    const handler = chosen === undefined ? undefined : e.deployed.get(chosen);
    if (handler === undefined)
      throw new RpcError(400, `Deployed model ${chosen ?? ''} does not exist in the endpoint.`);
    if (!raw && !Array.isArray(body.instances))
      throw new RpcError(400, 'Invalid JSON payload: "instances" must be a list.');
    res.setHeader('X-Vertex-AI-Endpoint-Id', endpoint[1] as string);
    res.setHeader('X-Vertex-AI-Deployed-Model-Id', chosen as string);
    state.endpointCalls.push({ endpoint: endpoint[1] as string, deployedModelId: chosen as string, body });
    const out = await handler(raw ? body : body.instances, raw);
    return raw
      ? out
      : {
          predictions: out,
          deployedModelId: chosen,
          model: `${path.split('/endpoints')[0]}/models/m`,
          modelDisplayName: 'm',
        };
  }
  throw new RpcError(404, `The requested URL /v1/${path} was not found on this server.`);
}

/** Answers Vertex AI requests under `/v1/`; false for other paths. */
export async function handleVertex(req: IncomingMessage, res: ServerResponse, state: VertexState): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://x');
  if (!url.pathname.startsWith('/v1/')) return false;
  const path = decodeURIComponent(url.pathname.slice(4));
  const method = req.method ?? 'GET';
  const send = (status: number, body: unknown): true => {
    state.requests.push({ method, path, status });
    sendJson(res, status, body);
    return true;
  };
  const fail = (code: number, message: string): true =>
    send(code, { error: { code, message, status: STATUS[code] ?? 'UNKNOWN' } });
  const raw = await readBody(req);
  const auth = checkAuth(req, state.accounts, state.tokens, state.denied);
  if (!auth.ok) return fail(auth.status, auth.message);
  const fault = takeFault(state.faults, path);
  if (fault !== undefined) {
    if (fault.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(fault.retryAfterSeconds));
    return fail(
      fault.status,
      fault.status === 429
        ? 'Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model.'
        : 'The service is currently unavailable.',
    );
  }
  let body: Record<string, unknown> = {};
  if (raw.length > 0) {
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return fail(400, `Invalid JSON payload received. Unexpected token.`);
    }
  }
  try {
    return send(200, await route(state, method, path, body, res));
  } catch (error) {
    if (error instanceof RpcError) return fail(error.code, error.message);
    throw error;
  }
}
