/**
 * An Azure Machine Learning managed online endpoint over TLS (a self-signed certificate, tls.ts), answering as the
 * service does (sources: how-to-safely-rollout-online-endpoints, how-to-troubleshoot-online-endpoints "HTTP status
 * codes", how-to-authenticate-online-endpoint, and the consume snippet Azure generates for an endpoint):
 * - `POST /score` goes to a deployment's scoring container; `POST /v2/models/<m>/infer` to a Triton deployment's.
 * - `Authorization: Bearer <key>` with the primary or secondary key (`auth_mode: key`), or a Microsoft Entra token
 *   for `https://ml.azure.com` (`auth_mode: aad_token`); anything else is 401.
 * - `azureml-model-deployment: <name>` sends the request to that deployment, bypassing the traffic split; without it
 *   the traffic split picks one (here deterministically: the n-th request falls in the n mod 100 percentile). No
 *   deployment to route to is 404 "No valid deployments to route to…" (the documented message).
 * - The answer names the deployment that served it in the same `azureml-model-deployment` header.
 * - A container answering non-200 becomes 424 with `ms-azureml-model-error-statuscode` and
 *   `ms-azureml-model-error-reason`; more requests than the deployment takes are 429 with `Retry-After` (faults).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import { selfSignedCertificate } from './tls.js';

/** What a deployment's container answers. */
export interface ContainerAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** A deployment: its scoring container (`/score`) and, for Triton deployments, `/v2/models/<m>/infer`. */
export interface OnlineDeployment {
  readonly score?: (body: unknown) => Promise<ContainerAnswer>;
  readonly triton?: (model: string, body: unknown) => Promise<ContainerAnswer>;
}

/** A fault served instead of routing, `times` times, for paths matching `path`. */
export interface EndpointFault {
  readonly path: RegExp;
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  times: number;
}

export interface OnlineEndpointState {
  readonly deployments: Map<string, OnlineDeployment>;
  /** Traffic percentages by deployment (summing to 100 or 0). */
  traffic: Record<string, number>;
  authMode: 'key' | 'aad_token';
  readonly keys: { primary: string; secondary: string };
  /** Microsoft Entra tokens accepted in `aad_token` mode. */
  readonly aadTokens: Set<string>;
  readonly faults: EndpointFault[];
  /** Every request that passed authentication: the deployment that served it and the body. */
  readonly calls: { path: string; pinned: string | undefined; served: string; body: unknown }[];
  /** A broken router that ignores `azureml-model-deployment` (to test that a pinned version notices). */
  ignorePinHeader: boolean;
  /** Answer bytes this many times over (a hostile endpoint), instead of routing. */
  hostile?: { status: number; headers: Record<string, string>; body: string | Buffer } | undefined;
}

export interface OnlineEndpointServer {
  /** `https://127.0.0.1:<port>/score`. */
  readonly scoringUri: string;
  readonly state: OnlineEndpointState;
  /** A fetch trusting the test certificate, for `remote.fetch`. */
  readonly fetch: typeof globalThis.fetch;
  close(): Promise<void>;
}

const NO_ROUTE =
  'No valid deployments to route to. Please check that the endpoint has at least one deployment with positive weight values or use a deployment specific header to route.';

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'x-request-id': crypto.randomUUID(),
    ...headers,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function handle(req: IncomingMessage, res: ServerResponse, state: OnlineEndpointState, count: () => number) {
  const path = new URL(req.url ?? '/', 'https://x').pathname;
  const text = await readBody(req);
  const auth = req.headers.authorization ?? '';
  const bearer = auth.startsWith('Bearer ') ? auth.slice(7) : '';
  const allowed =
    state.authMode === 'key'
      ? bearer !== '' && (bearer === state.keys.primary || bearer === state.keys.secondary)
      : state.aadTokens.has(bearer);
  // The troubleshooting table documents only the status: "401 Unauthorized — You don't have permission to do the
  // requested action, such as score, or your token is expired." The body is left empty, as clients must cope with it.
  if (!allowed) return json(res, 401, '', { 'www-authenticate': 'Bearer' });
  if (state.hostile) {
    const h = state.hostile;
    res.writeHead(h.status, h.headers);
    return res.end(h.body);
  }
  const fault = state.faults.find((f) => f.times > 0 && f.path.test(path));
  if (fault) {
    fault.times--;
    return json(res, fault.status, fault.body ?? { message: `HTTP ${fault.status}` }, fault.headers);
  }
  const header = req.headers['azureml-model-deployment'];
  const pinned = typeof header === 'string' && !state.ignorePinHeader ? header : undefined;
  let served: string | undefined;
  if (pinned !== undefined) {
    // An unknown deployment name cannot be routed: the same 404 as an endpoint without traffic.
    if (!state.deployments.has(pinned)) return json(res, 404, { message: NO_ROUTE });
    served = pinned;
  } else {
    const slot = count() % 100;
    let edge = 0;
    for (const [name, weight] of Object.entries(state.traffic)) {
      edge += weight;
      if (weight > 0 && slot < edge) {
        served = name;
        break;
      }
    }
    if (served === undefined) return json(res, 404, { message: NO_ROUTE });
  }
  const deployment = state.deployments.get(served)!;
  const triton = /^\/v2\/models\/([^/]+)\/infer$/.exec(path);
  const run =
    path === '/score' && deployment.score
      ? deployment.score
      : triton && deployment.triton
        ? (b: unknown) => deployment.triton!(decodeURIComponent(triton[1]!), b)
        : undefined;
  if (run === undefined) return json(res, 404, { message: `Path ${path} not found on deployment ${served}.` });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  state.calls.push({ path, pinned, served, body });
  const answer = await run(body);
  const tag = { 'azureml-model-deployment': served };
  if (answer.status === 200) return json(res, 200, answer.body, tag);
  return json(res, 424, answer.body, {
    ...tag,
    'ms-azureml-model-error-statuscode': String(answer.status),
    'ms-azureml-model-error-reason': 'model_error',
  });
}

/** Starts the endpoint on a free port of 127.0.0.1. */
export async function startOnlineEndpoint(): Promise<OnlineEndpointServer> {
  const { key, cert } = selfSignedCertificate();
  const state: OnlineEndpointState = {
    deployments: new Map(),
    traffic: {},
    authMode: 'key',
    keys: { primary: `pk-${crypto.randomUUID()}`, secondary: `sk-${crypto.randomUUID()}` },
    aadTokens: new Set(),
    faults: [],
    calls: [],
    ignorePinHeader: false,
  };
  let n = 0;
  const server: Server = createServer({ key, cert }, (req, res) => {
    handle(req, res, state, () => n++).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { message: String(error) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dispatcher = new Agent({ connect: { ca: cert } });
  const trusted = ((url: string, init?: RequestInit) =>
    undiciFetch(url, { ...(init as object), dispatcher } as never)) as unknown as typeof globalThis.fetch;
  return {
    scoringUri: `https://127.0.0.1:${(server.address() as AddressInfo).port}/score`,
    state,
    fetch: trusted,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await dispatcher.close();
    },
  };
}
