/**
 * The Weights & Biases endpoints a client uses to log a run, in their real shapes: `POST /graphql` with the
 * `UpsertBucket` mutation (bucket = run; `modelName` = project) and the `RunUploadUrls` query, and
 * `POST /files/{entity}/{project}/{run}/file_stream` taking `{ files: { name: { offset, content[] } } }`, where
 * a line written again at the same offset replaces the earlier one, plus `{ complete, exitcode }` to finish.
 * HTTP Basic auth with user `api` and the API key.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from '../http-util.js';
import { takeFault, type Fault } from '../faults.js';
import { artifactGraphql, artifactStorage, createArtifactState, type ArtifactState } from './artifacts.js';

export interface WandbRun {
  entity: string;
  project: string;
  name: string;
  displayName?: string;
  group?: string;
  config: Record<string, { value: unknown; desc: unknown }>;
  tags: string[];
  /** `wandb-history.jsonl` by line offset. */
  history: Record<string, unknown>[];
  /** How many history lines were written, counting rewrites of the same offset. */
  historyWrites: number;
  summary: Record<string, unknown>;
  state: 'running' | 'finished' | 'failed';
  exitcode?: number;
  files: Map<string, Buffer>;
}

export interface WandbState {
  apiKey: string;
  runs: Map<string, WandbRun>;
  requests: { method: string; path: string; status: number; operation?: string }[];
  faults: Fault[];
  /** Artifacts (the registry side): see artifacts.ts. */
  artifacts: ArtifactState;
  /** Set by the server: its own URL, for upload links. */
  url?: string;
  /**
   * Fields of `Project` this server's schema lacks (an older W&B Server): a query calling one (`field(…)`) is
   * refused before it runs, as GraphQL servers do, with `errors[]` "Cannot query field …" (graphql-js's wording).
   * The status is 400 as the GraphQL-over-HTTP spec gives for a request that fails validation; what W&B's own
   * server sends was not checked, and the adapter reads `errors[]` before the status, so 200 would end the same.
   */
  projectLacks?: readonly string[];
}

export function createWandbState(apiKey = 'test-key'): WandbState {
  return { apiKey, runs: new Map(), requests: [], faults: [], artifacts: createArtifactState() };
}

const runKey = (entity: string, project: string, name: string): string => `${entity}/${project}/${name}`;

/** W&B's clients write NaN and ±Infinity as bare tokens; its backend accepts them. */
export function parseWandbJson(line: string): Record<string, unknown> {
  const mark = '__non_finite__:';
  const text = line.replace(/(:\s*)(-?Infinity|NaN)(?=\s*[,}\]])/g, `$1"${mark}$2"`);
  return JSON.parse(text, (_k, v: unknown) =>
    typeof v === 'string' && v.startsWith(mark) ? Number(v.slice(mark.length)) : v,
  ) as Record<string, unknown>;
}

function graphql(
  state: WandbState,
  body: { query?: string; variables?: Record<string, unknown> },
): { status: number; body: unknown; operation?: string } {
  const operation = /(?:mutation|query)\s+(\w+)/.exec(body.query ?? '')?.[1];
  const v = body.variables ?? {};
  const lacking = state.projectLacks?.find((field) => new RegExp(`\\b${field}\\s*\\(`).test(body.query ?? ''));
  if (lacking !== undefined) {
    const message = `Cannot query field "${lacking}" on type "Project".`;
    return {
      status: 400,
      ...(operation === undefined ? {} : { operation }),
      body: {
        errors: [{ message, locations: [{ line: 2, column: 3 }], extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }],
      },
    };
  }
  const artifact = artifactGraphql(state.artifacts, state.url ?? '', operation, v);
  if (artifact !== undefined) return { ...artifact, ...(operation === undefined ? {} : { operation }) };
  if (operation === 'UpsertBucket') {
    const entity = String(v.entity ?? '');
    const project = String(v.project ?? 'uncategorized');
    const name = String(v.name ?? '');
    if (entity === '' || name === '')
      return {
        status: 200,
        operation,
        body: {
          errors: [{ message: 'entityName and name are required', path: ['upsertBucket'] }],
          data: { upsertBucket: null },
        },
      };
    let config: WandbRun['config'] | undefined;
    if (v.config !== undefined && v.config !== null) {
      try {
        config = JSON.parse(String(v.config)) as WandbRun['config'];
      } catch {
        return {
          status: 400,
          operation,
          body: { errors: [{ message: 'Variable "$config" got invalid value; JSONString expected' }] },
        };
      }
    }
    const key = runKey(entity, project, name);
    const existing = state.runs.get(key);
    const run: WandbRun = existing ?? {
      entity,
      project,
      name,
      config: {},
      tags: [],
      history: [],
      historyWrites: 0,
      summary: {},
      state: 'running',
      files: new Map(),
    };
    if (config !== undefined) run.config = config;
    if (Array.isArray(v.tags)) run.tags = v.tags as string[];
    if (typeof v.displayName === 'string') run.displayName = v.displayName;
    if (typeof v.groupName === 'string') run.group = v.groupName;
    state.runs.set(key, run);
    const bucket = {
      id: Buffer.from(`Run:v1:${name}:${project}:${entity}`).toString('base64'),
      name,
      displayName: run.displayName ?? name,
      project: { name: project, entity: { name: entity } },
    };
    return { status: 200, operation, body: { data: { upsertBucket: { bucket, inserted: existing === undefined } } } };
  }
  if (operation === 'RunUploadUrls') {
    const run = state.runs.get(runKey(String(v.entity), String(v.name), String(v.run)));
    if (run === undefined) return { status: 200, operation, body: { data: { model: { bucket: null } } } };
    const edges = ((v.files ?? []) as string[]).map((file) => ({
      node: {
        name: file,
        url: `${state.url}/upload/${run.entity}/${run.project}/${run.name}/${file.split('/').map(encodeURIComponent).join('/')}`,
      },
    }));
    return {
      status: 200,
      operation,
      body: { data: { model: { bucket: { id: run.name, files: { uploadHeaders: [], edges } } } } },
    };
  }
  return {
    status: 400,
    operation,
    body: { errors: [{ message: `Cannot query operation ${operation ?? '(none)'} on this test server` }] },
  };
}

function fileStream(
  state: WandbState,
  entity: string,
  project: string,
  name: string,
  body: Record<string, unknown>,
): { status: number; body: unknown } {
  const run = state.runs.get(runKey(entity, project, name));
  if (run === undefined) return { status: 404, body: { error: `run ${entity}/${project}/${name} not found` } };
  const files = (body.files ?? {}) as Record<string, { offset: number; content: string[] }>;
  for (const [file, chunk] of Object.entries(files)) {
    if (!Number.isInteger(chunk.offset) || !Array.isArray(chunk.content))
      return { status: 400, body: { error: `invalid chunk for ${file}` } };
    if (file === 'wandb-history.jsonl') {
      chunk.content.forEach((line, i) => {
        run.history[chunk.offset + i] = parseWandbJson(line);
        run.historyWrites += 1;
      });
    } else if (file === 'wandb-summary.json') {
      const last = chunk.content.at(-1);
      if (last !== undefined) run.summary = parseWandbJson(last);
    }
  }
  if (body.complete === true) {
    run.exitcode = Number(body.exitcode ?? 0);
    run.state = run.exitcode === 0 ? 'finished' : 'failed';
  }
  return { status: 200, body: { exitcode: null, limits: {} } };
}

/** Handles the W&B routes; resolves `false` for other paths. Records requests and honours `state.faults`. */
export async function handleWandb(req: IncomingMessage, res: ServerResponse, state: WandbState): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  const stream = /^\/files\/([^/]+)\/([^/]+)\/([^/]+)\/file_stream$/.exec(path);
  const upload = /^\/upload\/([^/]+)\/([^/]+)\/([^/]+)\/(.+)$/.exec(path);
  const storage = /^\/wandb-storage\/(.+)$/.exec(path);
  if (path !== '/graphql' && stream === null && upload === null && storage === null) return false;
  const entry: WandbState['requests'][number] = { method: req.method ?? 'GET', path, status: 200 };
  state.requests.push(entry);
  const raw = await readBody(req);
  const fault = takeFault(state.faults, path);
  if (fault !== undefined) {
    entry.status = fault.status;
    res.setHeader('retry-after', String(fault.retryAfterSeconds ?? 0));
    sendJson(res, fault.status, { error: 'injected failure' });
    return true;
  }
  if (storage !== null) {
    const result = artifactStorage(
      state.artifacts,
      req.method ?? 'GET',
      decodeURIComponent(storage[1] as string),
      url.searchParams.get('X-Amz-Signature'),
      req.headers,
      raw,
    );
    entry.status = result?.status ?? 404;
    res.writeHead(entry.status, {
      'content-type': Buffer.isBuffer(result?.body) ? 'application/octet-stream' : 'application/xml',
    });
    res.end(result?.body);
    return true;
  }
  if (upload !== null) {
    // Signed upload URLs carry their own authorization.
    const run = state.runs.get(
      runKey(
        decodeURIComponent(upload[1] as string),
        decodeURIComponent(upload[2] as string),
        decodeURIComponent(upload[3] as string),
      ),
    );
    if (req.method !== 'PUT' || run === undefined) entry.status = 404;
    else run.files.set(decodeURIComponent(upload[4] as string), raw);
    sendJson(res, entry.status, {});
    return true;
  }
  if (req.headers.authorization !== `Basic ${Buffer.from(`api:${state.apiKey}`).toString('base64')}`) {
    entry.status = 401;
    sendJson(res, 401, { errors: [{ message: 'user is not logged in' }] });
    return true;
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch {
    entry.status = 400;
    sendJson(res, 400, { error: 'invalid JSON' });
    return true;
  }
  const result: { status: number; body: unknown; operation?: string } =
    stream !== null
      ? fileStream(
          state,
          decodeURIComponent(stream[1] as string),
          decodeURIComponent(stream[2] as string),
          decodeURIComponent(stream[3] as string),
          body,
        )
      : graphql(state, body);
  entry.status = result.status;
  if (result.operation !== undefined) entry.operation = result.operation;
  sendJson(res, result.status, result.body);
  return true;
}
