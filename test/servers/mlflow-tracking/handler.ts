/**
 * MLflow tracking REST 2.0 routes as a real 2.x server answers them: the same paths, status codes, error bodies
 * (`{"error_code","message"}`; 400 INVALID_PARAMETER_VALUE, 404 RESOURCE_DOES_NOT_EXIST, 400
 * RESOURCE_ALREADY_EXISTS), `runs/log-batch` limits (1000 metrics, 100 params, 100 tags, 1000 items, 1e6 bytes,
 * param values ≤ 6000), required metric timestamps, immutable params, and identical points stored once.
 * A route module so it can be mounted next to the registry routes of `test/servers/mlflow/`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from '../http-util.js';
import { takeFault } from '../faults.js';
import type { MlflowTrackingState, StoredRun } from './state.js';

const MAX_BODY = 1_000_000;
const LIMITS = { metrics: 1000, params: 100, tags: 100, total: 1000, paramValue: 6000, tagValue: 5000 };

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const invalid = (message: string): ApiError => new ApiError(400, 'INVALID_PARAMETER_VALUE', message);
const missing = (name: string): ApiError =>
  invalid(
    `Missing value for required parameter '${name}'. See the API docs for more information about request parameters.`,
  );

function parseJson(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new ApiError(400, 'MALFORMED_REQUEST', 'Malformed JSON in request body.');
  }
}

/** protobuf JSON carries int64 as numbers or numeric strings. */
function int64(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  return undefined;
}

/**
 * Metric values are kept as sent, as MLflow's file store does. Its SQL store (`_get_metric_value_details`) would
 * save ±Infinity as ±1.7976931348623157e308; docs/tracking.md says so, and the shared tracker contract expects
 * the values back unchanged.
 */
function double(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  return undefined;
}

function runJson(run: StoredRun): unknown {
  const latest = new Map<string, StoredRun['metrics'][number]>();
  for (const m of run.metrics) {
    const prev = latest.get(m.key);
    if (prev === undefined || m.step > prev.step || (m.step === prev.step && m.timestamp >= prev.timestamp))
      latest.set(m.key, m);
  }
  return {
    info: {
      run_id: run.runId,
      run_uuid: run.runId,
      run_name: run.runName,
      experiment_id: run.experimentId,
      user_id: run.userId,
      status: run.status,
      start_time: run.startTime,
      ...(run.endTime === undefined ? {} : { end_time: run.endTime }),
      artifact_uri: run.artifactUri,
      lifecycle_stage: 'active',
    },
    data: {
      ...(latest.size === 0 ? {} : { metrics: [...latest.values()] }),
      ...(run.params.size === 0 ? {} : { params: [...run.params].map(([key, value]) => ({ key, value })) }),
      ...(run.tags.size === 0 ? {} : { tags: [...run.tags].map(([key, value]) => ({ key, value })) }),
    },
    inputs: {},
  };
}

function getRun(state: MlflowTrackingState, runId: unknown): StoredRun {
  if (typeof runId !== 'string' || runId === '') throw missing('run_id');
  const run = state.runs.get(runId);
  if (run === undefined) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Run with id=${runId} not found`);
  return run;
}

function logBatch(state: MlflowTrackingState, body: Record<string, unknown>, bytes: number): unknown {
  if (bytes > MAX_BODY)
    throw invalid(`Batched logging API requests must be at most ${MAX_BODY} bytes, got a request of size ${bytes}.`);
  const run = getRun(state, body.run_id ?? body.run_uuid);
  const metrics = (body.metrics ?? []) as Record<string, unknown>[];
  const params = (body.params ?? []) as Record<string, unknown>[];
  const tags = (body.tags ?? []) as Record<string, unknown>[];
  const limit = (name: string, max: number, n: number): void => {
    if (n > max) {
      throw invalid(
        `A batch logging request can contain at most ${max} ${name}. Got ${n} ${name}. Please split up ${name} across multiple requests and try again.`,
      );
    }
  };
  limit('metrics', LIMITS.metrics, metrics.length);
  limit('params', LIMITS.params, params.length);
  limit('tags', LIMITS.tags, tags.length);
  limit('metrics, params, and tags', LIMITS.total, metrics.length + params.length + tags.length);
  const parsedMetrics = metrics.map((m, i) => {
    if (typeof m.key !== 'string') throw missing(`metrics[${i}].key`);
    const value = double(m.value);
    if (value === undefined) throw missing(`metrics[${i}].value`);
    const timestamp = int64(m.timestamp);
    if (timestamp === undefined) throw missing(`metrics[${i}].timestamp`);
    return { key: m.key, value, timestamp, step: int64(m.step) ?? 0 };
  });
  const keys = new Set<string>();
  for (const p of params) {
    if (typeof p.key !== 'string') throw missing('params.key');
    if (typeof p.value !== 'string') throw missing('params.value');
    if (keys.has(p.key)) {
      throw invalid(
        `Duplicate parameter keys have been submitted: ['${p.key}']. Please ensure the request contains only one param value per param key.`,
      );
    }
    keys.add(p.key);
    if (p.value.length > LIMITS.paramValue) {
      throw invalid(
        `Param value '${p.value.slice(0, 250)}' had length ${p.value.length}, which exceeded length limit of ${LIMITS.paramValue}`,
      );
    }
    const existing = run.params.get(p.key);
    if (existing !== undefined && existing !== p.value) {
      throw invalid(
        `Changing param values is not allowed. Param with key='${p.key}' was already logged with value='${existing}' for run ID='${run.runId}'. Attempted logging new value '${p.value}'.`,
      );
    }
  }
  for (const t of tags) {
    if (typeof t.key !== 'string' || typeof t.value !== 'string') throw missing('tags.key');
    if (t.value.length > LIMITS.tagValue)
      throw invalid(
        `Tag value '${t.value.slice(0, 250)}' had length ${t.value.length}, which exceeded length limit of ${LIMITS.tagValue}`,
      );
  }
  state.metricsReceived += parsedMetrics.length;
  for (const m of parsedMetrics) {
    const same = run.metrics.some(
      (x) => x.key === m.key && x.timestamp === m.timestamp && x.step === m.step && Object.is(x.value, m.value),
    );
    if (!same) run.metrics.push(m);
  }
  for (const p of params) run.params.set(p.key as string, p.value as string);
  for (const t of tags) run.tags.set(t.key as string, t.value as string);
  return {};
}

/** A tiny subset of MLflow's search filter: `tags.<key> = '<value>'`, key optionally in backticks. */
function matchesFilter(run: StoredRun, filter: unknown): boolean {
  if (typeof filter !== 'string' || filter.trim() === '') return true;
  const m = /^\s*tags\.(?:`([^`]+)`|([\w.]+))\s*=\s*'([^']*)'\s*$/.exec(filter);
  if (m === null) throw invalid(`Invalid filter '${filter}' (this test server supports tags.<key> = '<value>').`);
  return run.tags.get((m[1] ?? m[2]) as string) === m[3];
}

async function route(
  req: IncomingMessage,
  url: URL,
  state: MlflowTrackingState,
  res: ServerResponse,
): Promise<boolean> {
  const path = url.pathname;
  const artifactPrefix = '/api/2.0/mlflow-artifacts/artifacts/';
  if (path.startsWith(artifactPrefix)) {
    const key = decodeURIComponent(path.slice(artifactPrefix.length));
    if (req.method === 'PUT') {
      state.artifacts.set(key, await readBody(req));
      sendJson(res, 200, {});
    } else if (req.method === 'GET') {
      const bytes = state.artifacts.get(key);
      if (bytes === undefined) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `File ${key} not found`);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(bytes);
    } else return false;
    return true;
  }
  const op = `${req.method} ${path.replace(/^\/api\/2\.0\/mlflow\//, '')}`;
  const raw = req.method === 'POST' ? await readBody(req) : Buffer.alloc(0);
  const body = parseJson(raw);
  switch (op) {
    case 'GET experiments/get-by-name': {
      const name = url.searchParams.get('experiment_name');
      if (name === null || name === '') throw missing('experiment_name');
      const exp = [...state.experiments.values()].find((e) => e.name === name);
      if (exp === undefined)
        throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Could not find experiment with name '${name}'`);
      sendJson(res, 200, {
        experiment: {
          experiment_id: exp.experimentId,
          name: exp.name,
          artifact_location: `mlflow-artifacts:/${exp.experimentId}`,
          lifecycle_stage: 'active',
          creation_time: exp.creationTime,
          last_update_time: exp.creationTime,
        },
      });
      return true;
    }
    case 'POST experiments/create': {
      const name = body.name;
      if (typeof name !== 'string' || name === '') throw missing('name');
      if ([...state.experiments.values()].some((e) => e.name === name))
        throw new ApiError(400, 'RESOURCE_ALREADY_EXISTS', `Experiment '${name}' already exists.`);
      const experimentId = String(state.nextExperimentId++);
      state.experiments.set(experimentId, { experimentId, name, creationTime: Date.now() });
      sendJson(res, 200, { experiment_id: experimentId });
      return true;
    }
    case 'POST runs/create': {
      const experimentId = String(body.experiment_id ?? '0');
      if (!state.experiments.has(experimentId))
        throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Could not find experiment with ID ${experimentId}`);
      const runId = randomUUID().replace(/-/g, '');
      const tags = new Map(((body.tags ?? []) as { key: string; value: string }[]).map((t) => [t.key, t.value]));
      const runName =
        typeof body.run_name === 'string' && body.run_name !== ''
          ? body.run_name
          : (tags.get('mlflow.runName') ?? `run-${runId.slice(0, 6)}`);
      tags.set('mlflow.runName', runName);
      const run: StoredRun = {
        runId,
        experimentId,
        runName,
        userId: typeof body.user_id === 'string' ? body.user_id : '',
        status: 'RUNNING',
        startTime: int64(body.start_time) ?? Date.now(),
        artifactUri: `mlflow-artifacts:/${experimentId}/${runId}/artifacts`,
        metrics: [],
        params: new Map(),
        tags,
      };
      state.runs.set(runId, run);
      sendJson(res, 200, { run: runJson(run) });
      return true;
    }
    case 'GET runs/get': {
      sendJson(res, 200, { run: runJson(getRun(state, url.searchParams.get('run_id'))) });
      return true;
    }
    case 'POST runs/search': {
      const ids = (body.experiment_ids ?? []) as string[];
      const found = [...state.runs.values()].filter(
        (r) => ids.includes(r.experimentId) && matchesFilter(r, body.filter),
      );
      const max = int64(body.max_results) ?? 1000;
      sendJson(res, 200, found.length === 0 ? {} : { runs: found.slice(0, max).map(runJson) });
      return true;
    }
    case 'POST runs/log-batch':
      sendJson(res, 200, logBatch(state, body, raw.length));
      return true;
    case 'POST runs/update': {
      const run = getRun(state, body.run_id ?? body.run_uuid);
      if (body.status !== undefined) {
        if (!['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'].includes(body.status as string))
          throw invalid(`Invalid value ${String(body.status)} for parameter 'status'`);
        run.status = body.status as StoredRun['status'];
      }
      const end = int64(body.end_time);
      if (end !== undefined) run.endTime = end;
      if (typeof body.run_name === 'string' && body.run_name !== '') run.runName = body.run_name;
      sendJson(res, 200, { run_info: (runJson(run) as { info: unknown }).info });
      return true;
    }
    default:
      return false;
  }
}

/**
 * Handles MLflow tracking routes; resolves `false` for any other path so a combined server can try its other
 * routes. Records every request in `state.requests` and honours `state.faults`, `state.token` and `state.basic`.
 */
export async function handleMlflowTracking(
  req: IncomingMessage,
  res: ServerResponse,
  state: MlflowTrackingState,
): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (!url.pathname.startsWith('/api/2.0/mlflow/') && !url.pathname.startsWith('/api/2.0/mlflow-artifacts/'))
    return false;
  const entry = {
    method: req.method ?? 'GET',
    path: url.pathname,
    bytes: Number(req.headers['content-length'] ?? 0),
    status: 200,
  };
  state.requests.push(entry);
  const fault = takeFault(state.faults, url.pathname);
  if (fault?.dropResponse === true) {
    // The server does the work, but the client never hears back: it must not create the run twice on retry.
    const discard = {
      writeHead: () => discard,
      setHeader: () => discard,
      end: () => req.socket.destroy(),
      headersSent: false,
    };
    await route(req, url, state, discard as unknown as ServerResponse);
    return true;
  }
  if (fault !== undefined) {
    entry.status = fault.status;
    await readBody(req);
    res.setHeader('retry-after', String(fault.retryAfterSeconds ?? 0));
    sendJson(res, fault.status, {
      error_code: fault.status === 429 ? 'REQUEST_LIMIT_EXCEEDED' : 'TEMPORARILY_UNAVAILABLE',
      message: 'Injected failure.',
    });
    return true;
  }
  const expected =
    state.token !== undefined
      ? `Bearer ${state.token}`
      : state.basic !== undefined
        ? `Basic ${Buffer.from(`${state.basic.username}:${state.basic.password}`).toString('base64')}`
        : undefined;
  if (expected !== undefined && req.headers.authorization !== expected) {
    entry.status = 401;
    await readBody(req);
    // mlflow/server/auth/__init__.py make_basic_auth_response(): a text body, 401 and a Basic challenge.
    res.writeHead(401, { 'content-type': 'text/html; charset=utf-8', 'www-authenticate': 'Basic realm="mlflow"' });
    res.end(
      'You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.',
    );
    return true;
  }
  try {
    const handled = await route(req, url, state, res);
    if (!handled) {
      entry.status = 404;
      sendJson(res, 404, {
        error_code: 'ENDPOINT_NOT_FOUND',
        message: `No API endpoint ${req.method} ${url.pathname}`,
      });
    }
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    entry.status = error.status;
    sendJson(res, error.status, { error_code: error.code, message: error.message });
  }
  return true;
}
