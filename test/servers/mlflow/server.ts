/**
 * A protocol fake of an MLflow 2.x tracking server (observed on 2.10): Model Registry REST API 2.0, runs/get and
 * the mlflow-artifacts proxy, on a real port. It reproduces the behaviour adapters trip over: `version` as a
 * string, `{"error_code","message"}` errors with MLflow's statuses (unknown model/version → 404
 * RESOURCE_DOES_NOT_EXIST, unknown alias or alias of an unknown model → 400 INVALID_PARAMETER_VALUE, existing
 * model → 400 RESOURCE_ALREADY_EXISTS, reserved aliases → 400), empty fields left out of JSON, page tokens
 * (base64 with "=") answered with a 500 HTML page when not percent-encoded, DELETE parameters read from the JSON
 * body, JSON content type required on POST/DELETE, artifacts streamed without Content-Length and ignoring Range,
 * and a 500 for a missing artifact. Checked against MLflow 2.10's source (`mlflow/server/handlers.py`,
 * `mlflow/store/model_registry/sqlalchemy_store.py`, `mlflow/store/model_registry/dbmodels/models.py`,
 * `mlflow/server/auth/__init__.py`); each reply names the behaviour it copies.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleArtifacts } from './artifacts.js';
import { ApiError, validateAlias } from './errors.js';
import { registeredModelTagRoute, validateRegisteredModelTag } from './registered-model-tags.js';

interface Version {
  name: string;
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  current_stage: string;
  source: string;
  run_id?: string;
  status: string;
  description?: string;
  tags: Map<string, string>;
}

interface Model {
  name: string;
  creation_timestamp: number;
  versions: Map<string, Version>;
  aliases: Map<string, string>;
  tags: Map<string, string>;
}

export interface MlflowServerOptions {
  /** Require `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Require Basic auth with these credentials. */
  readonly basic?: { readonly username: string; readonly password: string };
}

/** Counts of requests by route, for tests that assert what the adapter asked. */
export type RequestLog = string[];

export class MlflowTestServer {
  readonly models = new Map<string, Model>();
  readonly runs = new Map<string, string>();
  readonly artifacts = new Map<string, Buffer>();
  readonly requests: RequestLog = [];
  /** Answer the next N API calls with this status (e.g. 503) before behaving normally. */
  failures: { count: number; status: number } = { count: 0, status: 503 };
  /** Answer the next `count` calls of one route (`POST model-versions/create`) with this MLflow error. */
  readonly routeFailures: { route: string; status: number; errorCode: string; count: number }[] = [];
  #server: Server | undefined;
  #port = 0;
  readonly #options: MlflowServerOptions;
  #clock = 1_700_000_000_000;

  constructor(options: MlflowServerOptions = {}) {
    this.#options = options;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Listens on a free port, or again on the port it had before (to simulate an outage ending). */
  async start(): Promise<string> {
    const server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Stores an artifact file under the proxy root (`0/<run>/artifacts/model/model.onnx`). */
  putArtifact(path: string, bytes: Uint8Array | string): void {
    this.artifacts.set(path.replace(/^\/+/, ''), Buffer.from(bytes));
  }

  /** Registers a version directly, as another MLflow client would have. */
  addVersion(
    name: string,
    source: string,
    fields: { run_id?: string; tags?: Record<string, string>; status?: string } = {},
  ): string {
    const model = this.#ensureModel(name);
    const version = String(model.versions.size + 1);
    const now = this.#clock++;
    model.versions.set(version, {
      name,
      version,
      creation_timestamp: now,
      last_updated_timestamp: now,
      current_stage: 'None',
      source,
      status: fields.status ?? 'READY',
      tags: new Map(Object.entries(fields.tags ?? {})),
      ...(fields.run_id === undefined ? {} : { run_id: fields.run_id }),
    });
    return version;
  }

  setAlias(name: string, alias: string, version: string): void {
    this.models.get(name)?.aliases.set(alias, version);
  }

  #ensureModel(name: string): Model {
    let model = this.models.get(name);
    if (!model) {
      model = { name, creation_timestamp: this.#clock++, versions: new Map(), aliases: new Map(), tags: new Map() };
      this.models.set(name, model);
    }
    return model;
  }

  /**
   * A ModelVersion as MLflow serializes it (protobuf JSON: empty fields left out). `withAliases`: the SQL store
   * fills `aliases` only in get_model_version, get_model_version_by_alias and create_model_version
   * (`_populate_model_version_aliases`); search_model_versions and a registered model's latest_versions return
   * `SqlModelVersion.to_mlflow_entity()`, whose aliases are always `[]`, so the field is absent there.
   */
  #versionJson(v: Version, withAliases: boolean): Record<string, unknown> {
    const model = this.models.get(v.name) as Model;
    const aliases = withAliases ? [...model.aliases].filter(([, ver]) => ver === v.version).map(([a]) => a) : [];
    const tags = [...v.tags].map(([key, value]) => ({ key, value }));
    return {
      name: v.name,
      version: v.version,
      creation_timestamp: v.creation_timestamp,
      last_updated_timestamp: v.last_updated_timestamp,
      current_stage: v.current_stage,
      ...(v.description ? { description: v.description } : {}),
      source: v.source,
      ...(v.run_id ? { run_id: v.run_id } : {}),
      status: v.status,
      ...(tags.length ? { tags } : {}),
      ...(aliases.length ? { aliases } : {}),
    };
  }

  #model(name: string | undefined): Model {
    const model = name === undefined ? undefined : this.models.get(name);
    if (!model) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${name} not found`);
    return model;
  }

  #version(name: string | undefined, version: string | undefined): Version {
    const v = name === undefined ? undefined : this.models.get(name)?.versions.get(String(version));
    if (!v)
      throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Model Version (name=${name}, version=${version}) not found`);
    return v;
  }

  #authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    if (this.#options.token !== undefined) return header === `Bearer ${this.#options.token}`;
    if (this.#options.basic !== undefined) {
      const { username, password } = this.#options.basic;
      return header === `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    }
    return true;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const [pathname = '/', rawQuery = ''] = (req.url ?? '/').split('?', 2);
    this.requests.push(`${req.method} ${pathname}`);
    const send = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (!this.#authorized(req)) {
      // mlflow/server/auth/__init__.py make_basic_auth_response(): a text body (Flask's default content type), 401,
      // and a Basic challenge, for a missing header and for wrong credentials alike.
      res.writeHead(401, { 'content-type': 'text/html; charset=utf-8', 'www-authenticate': 'Basic realm="mlflow"' });
      res.end(
        'You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.',
      );
      return;
    }
    if (this.failures.count > 0) {
      this.failures.count--;
      send(this.failures.status, { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'injected failure' });
      return;
    }
    const route = `${req.method} ${pathname.replace(/^\/api\/2\.0\/mlflow\//, '')}`;
    const routeFailure = this.routeFailures.find((f) => f.route === route && f.count > 0);
    if (routeFailure !== undefined) {
      routeFailure.count--;
      send(routeFailure.status, { error_code: routeFailure.errorCode, message: 'injected failure' });
      return;
    }
    // A raw "=" inside a query value (an unencoded base64 page token) breaks the server's parsing: 500, HTML.
    const pairs = rawQuery === '' ? [] : rawQuery.split('&');
    if (pairs.some((p) => p.indexOf('=') !== p.lastIndexOf('='))) {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>500 Internal Server Error</title><h1>Internal Server Error</h1>');
      return;
    }
    const query = new URLSearchParams(rawQuery);
    try {
      if (pathname.startsWith('/api/2.0/mlflow-artifacts/artifacts'))
        return handleArtifacts(this.artifacts, req, res, pathname, query, raw, send);
      if (!pathname.startsWith('/api/2.0/mlflow/'))
        throw new ApiError(404, 'ENDPOINT_NOT_FOUND', `No endpoint ${pathname}`);
      let body: Record<string, unknown> = {};
      if (req.method === 'POST' || req.method === 'PATCH' || req.method === 'DELETE') {
        if (!/^application\/json/.test(req.headers['content-type'] ?? '')) {
          throw new ApiError(400, 'BAD_REQUEST', 'Bad Request. Content-Type must be "application/json".');
        }
        body = raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
      }
      send(200, this.#api(req.method ?? 'GET', pathname.slice('/api/2.0/mlflow/'.length), query, body));
    } catch (error) {
      if (error instanceof ApiError) send(error.status, { error_code: error.code, message: error.message });
      else send(500, { error_code: 'INTERNAL_ERROR', message: String(error) });
    }
  }

  #api(method: string, route: string, q: URLSearchParams, body: Record<string, unknown>): unknown {
    const key = `${method} ${route}`;
    switch (key) {
      case 'GET registered-models/get': {
        // SqlRegisteredModel.to_mlflow_entity(): the newest version per stage (without aliases) and every alias as
        // {alias, version}, version a string in protobuf JSON.
        const m = this.#model(q.get('name') ?? undefined);
        const latest = new Map<string, Version>();
        for (const v of m.versions.values()) {
          const prev = latest.get(v.current_stage);
          if (prev === undefined || Number(prev.version) < Number(v.version)) latest.set(v.current_stage, v);
        }
        const aliases = [...m.aliases].map(([alias, version]) => ({ alias, version }));
        const tags = [...m.tags].map(([key, value]) => ({ key, value }));
        return {
          registered_model: {
            name: m.name,
            creation_timestamp: m.creation_timestamp,
            last_updated_timestamp: m.creation_timestamp,
            ...(latest.size ? { latest_versions: [...latest.values()].map((v) => this.#versionJson(v, false)) } : {}),
            ...(tags.length ? { tags } : {}),
            ...(aliases.length ? { aliases } : {}),
          },
        };
      }
      case 'POST registered-models/create': {
        const name = body.name as string;
        if (!name) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', "Missing value for required parameter 'name'.");
        if (this.models.has(name))
          throw new ApiError(400, 'RESOURCE_ALREADY_EXISTS', `Registered Model (name=${name}) already exists.`);
        // CreateRegisteredModel takes tags; each is validated before anything is stored.
        const tags = (body.tags as { key: string; value: string }[] | undefined) ?? [];
        for (const t of tags) validateRegisteredModelTag(t.key, t.value);
        const m = this.#ensureModel(name);
        for (const t of tags) m.tags.set(t.key, t.value);
        return { registered_model: { name: m.name, creation_timestamp: m.creation_timestamp } };
      }
      case 'GET registered-models/alias': {
        const name = q.get('name') ?? '';
        const alias = q.get('alias') ?? '';
        const model = this.models.get(name);
        // MLflow 2.10's SQL store answers both cases with 400 INVALID_PARAMETER_VALUE.
        if (!model) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Registered model alias ${alias} not found.`);
        const version = model.aliases.get(alias);
        if (version === undefined)
          throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Registered model alias ${alias} not found.`);
        return { model_version: this.#versionJson(this.#version(name, version), true) };
      }
      case 'POST registered-models/alias': {
        const alias = validateAlias(body.alias);
        const v = this.#version(this.#model(body.name as string).name, body.version as string);
        this.#model(v.name).aliases.set(alias, v.version);
        return {};
      }
      case 'DELETE registered-models/alias': {
        const model = this.#model(body.name as string);
        validateAlias(body.alias);
        model.aliases.delete(body.alias as string);
        return {};
      }
      case 'GET model-versions/get':
        return {
          model_version: this.#versionJson(
            this.#version(q.get('name') ?? undefined, q.get('version') ?? undefined),
            true,
          ),
        };
      case 'GET model-versions/get-download-uri':
        return { artifact_uri: this.#version(q.get('name') ?? undefined, q.get('version') ?? undefined).source };
      case 'GET model-versions/search': {
        const max = Number(q.get('max_results') ?? 10000);
        if (!Number.isInteger(max) || max < 1 || max > 200_000) {
          throw new ApiError(
            400,
            'INVALID_PARAMETER_VALUE',
            `Invalid value for max_results. It must be at most 200000, but got value ${q.get('max_results')}`,
          );
        }
        const filter = q.get('filter') ?? '';
        const m = /^name\s*=\s*'([^']*)'$|^name\s*=\s*"([^"]*)"$/.exec(filter.trim());
        if (filter !== '' && !m) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Invalid filter '${filter}'`);
        const wanted = m ? (m[1] ?? m[2]) : undefined;
        const all = [...this.models.values()]
          .filter((model) => wanted === undefined || model.name === wanted)
          .flatMap((model) => [...model.versions.values()])
          .sort((a, b) => b.last_updated_timestamp - a.last_updated_timestamp);
        const token = q.get('page_token');
        let offset = 0;
        if (token) {
          try {
            offset = (JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { offset: number }).offset;
          } catch {
            throw new ApiError(400, 'INVALID_PARAMETER_VALUE', 'Invalid page token, could not base64-decode');
          }
        }
        const page = all.slice(offset, offset + max);
        const next =
          offset + max < all.length
            ? Buffer.from(JSON.stringify({ offset: offset + max })).toString('base64')
            : undefined;
        return {
          ...(page.length ? { model_versions: page.map((v) => this.#versionJson(v, false)) } : {}),
          ...(next ? { next_page_token: next } : {}),
        };
      }
      case 'POST model-versions/create': {
        const model = this.#model(body.name as string);
        // _validate_model_version_tag: keys ≤ 250, values ≤ 5000 characters (MAX_MODEL_REGISTRY_TAG_*_LENGTH).
        for (const t of (body.tags as { key: string; value: string }[] | undefined) ?? []) {
          if (t.key.length > 250)
            throw new ApiError(
              400,
              'INVALID_PARAMETER_VALUE',
              `Tag key '${t.key.slice(0, 250)}' had length ${t.key.length}, which exceeded length limit of 250`,
            );
          if ([...(t.value ?? '')].length > 5000) {
            throw new ApiError(
              400,
              'INVALID_PARAMETER_VALUE',
              `Tag value '${t.value.slice(0, 250)}' had length ${[...t.value].length}, which exceeded length limit of 5000`,
            );
          }
        }
        const version = this.addVersion(model.name, body.source as string, {
          ...(body.run_id ? { run_id: body.run_id as string } : {}),
          tags: Object.fromEntries(
            ((body.tags as { key: string; value: string }[] | undefined) ?? []).map((t) => [t.key, t.value]),
          ),
        });
        return { model_version: this.#versionJson(this.#version(model.name, version), true) };
      }
      case 'GET runs/get': {
        const id = q.get('run_id') ?? '';
        const uri = this.runs.get(id);
        if (uri === undefined) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Run '${id}' not found.`);
        return {
          run: {
            info: {
              run_id: id,
              run_uuid: id,
              experiment_id: '0',
              status: 'FINISHED',
              artifact_uri: uri,
              lifecycle_stage: 'active',
            },
            data: {},
          },
        };
      }
      default: {
        const answer = registeredModelTagRoute(
          key,
          body,
          (name) => this.#model(name),
          (name) => this.models.delete(name),
        );
        if (answer === undefined) throw new ApiError(404, 'ENDPOINT_NOT_FOUND', `No endpoint ${key}`);
        return answer;
      }
    }
  }
}
