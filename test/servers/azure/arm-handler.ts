/**
 * The Azure Resource Manager routes of Azure Machine Learning that the azureml adapter uses, answering as ARM does:
 * - model containers `…/(workspaces|registries)/<w>/models/<name>` (GET, PUT) with `latestVersion`/`nextVersion`;
 * - model versions `…/models/<name>/versions/<v>` (GET, PUT: 201 on create, 409 when an existing version's
 *   modelUri would change — versions are immutable but for tags and description) and the list, paged by `nextLink`
 *   with an opaque `$skip` token (REST reference "Model Versions - List");
 * - datastores `…/workspaces/<w>/datastores/<d>` (GET, secrets left out) and `…/listSecrets` (POST);
 * - errors as `{"error":{"code","message"}}` (ARM's common error response): 400 MissingApiVersionParameter, 401
 *   AuthenticationFailed/InvalidAuthenticationToken, 403 AuthorizationFailed, 404 ResourceNotFound for a workspace
 *   and Azure ML's `UserError` with `innerError.code: NotFound` for an asset, 429 TooManyRequests with Retry-After.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from '../http-util.js';

export interface VersionRecord {
  properties: Record<string, unknown>;
  createdAt: string;
}
export interface ContainerRecord {
  tags: Record<string, string>;
  properties: Record<string, string>;
  description: string | null;
  isArchived: boolean;
  createdAt: string;
  versions: Map<string, VersionRecord>;
}
export interface DatastoreRecord {
  readonly properties: Record<string, unknown>;
  readonly secrets: Record<string, unknown>;
}
export interface ScopeRecord {
  readonly models: Map<string, ContainerRecord>;
  readonly datastores: Map<string, DatastoreRecord>;
}

export interface ArmState {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** `workspaces/<w>` or `registries/<r>` → its models and datastores. */
  readonly scopes: Map<string, ScopeRecord>;
  /** Tokens accepted; `denied` ones authenticate but lack the role (403). */
  readonly tokens: Set<string>;
  readonly denied: Set<string>;
  /** Versions per list page (ARM's pages are larger; small here so paging is exercised). */
  pageSize: number;
  /** Answer the next n calls with 429 TooManyRequests and `Retry-After`. */
  throttle: number;
  /** Hostile mode: nextLinks point at this origin instead of ARM's own. */
  nextLinkOrigin?: string;
  /** Every request seen (method and path), for tests that count calls. */
  readonly log: string[];
}

export function createArmState(subscriptionId: string, resourceGroup: string): ArmState {
  return {
    subscriptionId,
    resourceGroup,
    scopes: new Map(),
    tokens: new Set(),
    denied: new Set(),
    pageSize: 2,
    throttle: 0,
    log: [],
  };
}

const armError = (
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
) => {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader('x-ms-failure-cause', status === 429 ? 'gateway' : 'service');
  sendJson(res, status, { error: { code, message } });
  return true;
};
// Azure ML's asset errors carry more fields (innerError, details); the code that matters is innerError.code.
const notFound = (res: ServerResponse, what: string) => {
  sendJson(res, 404, {
    error: {
      code: 'UserError',
      message: `Could not find asset with ID: ${what}`,
      details: [],
      innerError: { code: 'NotFound' },
    },
  });
  return true;
};

const PREFIX =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.MachineLearningServices\/(workspaces|registries)\/([^/]+)(\/.*)?$/i;

function versionJson(id: string, version: string, r: VersionRecord, kind: string) {
  return {
    id: `${id}/versions/${version}`,
    name: version,
    type: `Microsoft.MachineLearningServices/${kind}/models/versions`,
    properties: { isAnonymous: false, isArchived: false, provisioningState: 'Succeeded', ...r.properties },
    systemData: {
      createdAt: r.createdAt,
      createdBy: 'modelship-test',
      createdByType: 'User',
      lastModifiedAt: r.createdAt,
    },
  };
}

const numeric = (c: ContainerRecord): number[] => [...c.versions.keys()].filter((v) => /^\d+$/.test(v)).map(Number);

function containerJson(id: string, name: string, c: ContainerRecord, kind: string) {
  const nums = numeric(c);
  const latest = [...c.versions.entries()].sort((a, b) => a[1].createdAt.localeCompare(b[1].createdAt)).pop()?.[0];
  return {
    id,
    name,
    type: `Microsoft.MachineLearningServices/${kind}/models`,
    properties: {
      description: c.description,
      tags: c.tags,
      properties: c.properties,
      isArchived: c.isArchived,
      latestVersion: latest ?? null,
      nextVersion: String((nums.length === 0 ? 0 : Math.max(...nums)) + 1),
      provisioningState: 'Succeeded',
    },
    systemData: { createdAt: c.createdAt, createdBy: 'modelship-test', createdByType: 'User' },
  };
}

let clock = Date.parse('2026-01-01T00:00:00Z');
// Strictly increasing creation times, so `latestVersion` is well defined however fast tests publish.
const now = (): string => new Date((clock += 1000)).toISOString();

const json = async (req: IncomingMessage): Promise<Record<string, unknown> | undefined> => {
  try {
    const v = JSON.parse((await readBody(req)).toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

export async function handleArm(
  req: IncomingMessage,
  res: ServerResponse,
  state: ArmState,
  origin: string,
): Promise<boolean> {
  const url = new URL(req.url ?? '/', origin);
  state.log.push(`${req.method ?? ''} ${url.pathname}`);
  const auth = req.headers.authorization ?? '';
  if (!auth.startsWith('Bearer '))
    return armError(res, 401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", {
      'www-authenticate': 'Bearer authorization_uri="https://login.windows.net/", error="invalid_token"',
    });
  const token = auth.slice('Bearer '.length);
  if (!state.tokens.has(token) && !state.denied.has(token))
    return armError(res, 401, 'InvalidAuthenticationToken', 'The access token is invalid.');
  if (state.throttle > 0) {
    state.throttle--;
    return armError(res, 429, 'TooManyRequests', 'The request is being throttled.', { 'retry-after': '0' });
  }
  if (!url.searchParams.get('api-version'))
    return armError(
      res,
      400,
      'MissingApiVersionParameter',
      'The api-version query parameter (?api-version=) is required for all requests.',
    );
  const m = PREFIX.exec(url.pathname);
  if (!m || m[1] !== state.subscriptionId || m[2]?.toLowerCase() !== state.resourceGroup.toLowerCase()) return false;
  const [, , , kind, scopeName, rest = ''] = m as unknown as [string, string, string, string, string, string?];
  if (state.denied.has(token))
    return armError(
      res,
      403,
      'AuthorizationFailed',
      `The client does not have authorization to perform action 'Microsoft.MachineLearningServices/${kind}/models/read' over scope '/subscriptions/${state.subscriptionId}/resourceGroups/${state.resourceGroup}/providers/Microsoft.MachineLearningServices/${kind}/${scopeName}' or the scope is invalid.`,
    );
  const scope = state.scopes.get(`${kind}/${scopeName}`);
  if (!scope)
    return armError(
      res,
      404,
      'ResourceNotFound',
      `The Resource 'Microsoft.MachineLearningServices/${kind}/${scopeName}' under resource group '${state.resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
    );
  const id = url.pathname.split('/models/')[0] ?? '';
  const ds = /^\/datastores\/([^/]+)(\/listSecrets)?$/.exec(rest);
  if (ds && kind === 'workspaces') {
    const d = scope.datastores.get(decodeURIComponent(ds[1] as string));
    if (!d) return notFound(res, `datastores/${ds[1] as string}`);
    if (ds[2] && req.method === 'POST') return (sendJson(res, 200, d.secrets), true);
    if (!ds[2] && req.method === 'GET')
      return (
        sendJson(res, 200, {
          id: url.pathname,
          name: ds[1],
          type: 'Microsoft.MachineLearningServices/workspaces/datastores',
          properties: d.properties,
        }),
        true
      );
    return armError(res, 405, 'MethodNotAllowed', 'The requested method is not allowed.');
  }
  const mm = /^\/models\/([^/]+)(?:\/versions(?:\/([^/]+))?)?$/.exec(rest);
  if (!mm) return false;
  const name = decodeURIComponent(mm[1] as string);
  const isList = rest.endsWith('/versions');
  const version = mm[2] === undefined ? undefined : decodeURIComponent(mm[2]);
  const c = scope.models.get(name);
  const modelId = `${id}/models/${name}`;
  if (version === undefined && !isList) {
    if (req.method === 'GET')
      return c ? (sendJson(res, 200, containerJson(modelId, name, c, kind)), true) : notFound(res, modelId);
    if (req.method === 'PUT') {
      const body = await json(req);
      const p = body?.properties as Record<string, unknown> | undefined;
      if (!p) return armError(res, 400, 'UserError', 'The request body must have properties.');
      const next: ContainerRecord = c ?? {
        tags: {},
        properties: {},
        description: null,
        isArchived: false,
        createdAt: now(),
        versions: new Map(),
      };
      next.tags = { ...((p.tags as Record<string, string> | undefined) ?? {}) };
      next.properties = { ...((p.properties as Record<string, string> | undefined) ?? {}) };
      next.description = (p.description as string | null | undefined) ?? null;
      next.isArchived = p.isArchived === true;
      scope.models.set(name, next);
      sendJson(res, c ? 200 : 201, containerJson(modelId, name, next, kind));
      return true;
    }
  }
  if (isList && req.method === 'GET') {
    // Azure ML lists an unknown model as an empty page, not a 404.
    const all = [...(c?.versions.entries() ?? [])]
      .sort((a, b) => a[1].createdAt.localeCompare(b[1].createdAt))
      .reverse();
    const skip = Number(Buffer.from(url.searchParams.get('$skip') ?? 'MA==', 'base64url').toString() || 0);
    const top = Math.min(Number(url.searchParams.get('$top') ?? state.pageSize) || state.pageSize, state.pageSize);
    const page = all.slice(skip, skip + top);
    const more = skip + top < all.length;
    const next = new URL(url.pathname + url.search, state.nextLinkOrigin ?? origin);
    next.searchParams.set('$skip', Buffer.from(String(skip + top)).toString('base64url'));
    sendJson(res, 200, {
      value: page.map(([v, r]) => versionJson(modelId, v, r, kind)),
      ...(more ? { nextLink: next.toString() } : {}),
    });
    return true;
  }
  if (version !== undefined) {
    if (req.method === 'GET') {
      const r = c?.versions.get(version);
      return r
        ? (sendJson(res, 200, versionJson(modelId, version, r, kind)), true)
        : notFound(res, `${modelId}/versions/${version}`);
    }
    if (req.method === 'PUT') {
      const body = await json(req);
      const p = body?.properties as Record<string, unknown> | undefined;
      if (!p || typeof p.modelUri !== 'string' || p.modelUri === '')
        return armError(res, 400, 'UserError', 'ModelUri is required when registering a model version.');
      const container = c ?? {
        tags: {},
        properties: {},
        description: null,
        isArchived: false,
        createdAt: now(),
        versions: new Map(),
      };
      const existing = container.versions.get(version);
      if (existing && existing.properties.modelUri !== p.modelUri)
        return armError(
          res,
          409,
          'UserError',
          `Conflict: the model version ${name}:${version} already exists and its modelUri cannot change.`,
        );
      const record: VersionRecord = {
        properties: { ...p, modelType: p.modelType ?? 'custom_model' },
        createdAt: existing?.createdAt ?? now(),
      };
      container.versions.set(version, record);
      scope.models.set(name, container);
      sendJson(res, existing ? 200 : 201, versionJson(modelId, version, record, kind));
      return true;
    }
  }
  return armError(res, 405, 'MethodNotAllowed', 'The requested method is not allowed.');
}
