import { logLine, type Logger, type LogFields } from '../core/logger.js';
import { ModelshipError, toModelshipError } from '../errors/index.js';
import {
  PROMETHEUS_CONTENT_TYPE,
  startPrometheusEndpoint,
  type PrometheusEndpoint,
} from '../telemetry/prometheus-endpoint.js';
import type { InboundRequest, OutboundResponse } from './exchange.js';
import type { ObserveOptions, PayloadBody, PayloadRecord } from './observe-options.js';
import { errorResponse } from './responses.js';

type Dispatch = (request: InboundRequest) => Promise<OutboundResponse | undefined>;

/** The handler's dispatch with `/metrics`, the access log and payload logging around it, and their cleanup. */
export interface Observed {
  readonly dispatch: Dispatch;
  /** Releases the metrics endpoint (the last handler shuts the SDK down). */
  close(): Promise<void>;
}

const DEFAULT_PAYLOAD_BYTES = 16 * 1024;
const MODEL_IN_PATH = /\/models\/([^/]+)/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const nowNs = (): number => performance.now() * 1e6;

function modelOf(path: string): string | undefined {
  const m = MODEL_IN_PATH.exec(path);
  if (m === null) return undefined;
  try {
    return decodeURIComponent(m[1] as string);
  } catch {
    return m[1];
  }
}

/** The error code of an error answer: `{error: {code}}` (simple API) or `{error, code}` (OIP beside it). */
function errorCode(response: OutboundResponse): string | undefined {
  if (response.status < 400 || typeof response.body !== 'string') return undefined;
  try {
    const body = JSON.parse(response.body) as { error?: { code?: unknown } | string; code?: unknown };
    const code = typeof body.error === 'object' ? body.error?.code : body.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

function cut(bytes: Uint8Array, max: number): PayloadBody {
  const truncated = bytes.length > max;
  // A cut inside a multi-byte character decodes as U+FFFD: the record stays valid text.
  return { body: decoder.decode(truncated ? bytes.subarray(0, max) : bytes), bytes: bytes.length, truncated };
}

/**
 * Wraps the handler's dispatch with what `metrics`, `accessLog` and `payloadLog` ask for. With none of them the
 * dispatch is returned as it is: nothing is added to the request path.
 */
export function observe(options: ObserveOptions, logger: Logger, inner: Dispatch): Observed {
  const { metrics, accessLog, payloadLog } = options;
  if (!metrics && !accessLog && payloadLog === undefined) return { dispatch: inner, close: async () => undefined };

  const metricsPath = (typeof metrics === 'object' ? metrics.path : undefined) ?? '/metrics';
  const endpoint: PrometheusEndpoint | undefined = metrics
    ? startPrometheusEndpoint((typeof metrics === 'object' ? metrics.serviceName : undefined) ?? 'modelship')
    : undefined;
  const accessRate = accessLog ? (typeof accessLog === 'object' ? (accessLog.sampleRate ?? 1) : 1) : 0;
  const payloadRate = payloadLog ? (payloadLog.sampleRate ?? 1) : 0;
  const maxBytes = payloadLog?.maxBytes ?? DEFAULT_PAYLOAD_BYTES;

  const scrape = async (request: InboundRequest): Promise<OutboundResponse> => {
    if (request.method !== 'GET') {
      const error = new ModelshipError('METHOD_NOT_ALLOWED', `${metricsPath} answers GET only (Prometheus scrapes).`);
      return errorResponse(error, logger, { allow: 'GET' });
    }
    try {
      const text = await (endpoint as PrometheusEndpoint).scrape();
      return { status: 200, headers: { 'content-type': PROMETHEUS_CONTENT_TYPE }, body: text };
    } catch (error) {
      return errorResponse(error, logger);
    }
  };

  const logAccess = (request: InboundRequest, response: OutboundResponse, started: number): void => {
    const fields: LogFields = {
      'event.dataset': 'modelship.access',
      'http.request.method': request.method,
      'url.path': request.path,
      'http.response.status_code': response.status,
      'event.duration': Math.round(nowNs() - started),
    };
    const model = modelOf(request.path);
    if (model !== undefined) (fields as Record<string, unknown>)['labels.model_name'] = model;
    const code = errorCode(response);
    if (code !== undefined) (fields as Record<string, unknown>)['error.code'] = code;
    logLine(logger, 'info', `${request.method} ${request.path} ${response.status}`, fields);
  };

  const logPayload = (request: InboundRequest, response: OutboundResponse, body: Uint8Array | undefined): void => {
    const answer = typeof response.body === 'string' ? encoder.encode(response.body) : response.body;
    const record: PayloadRecord = {
      id: globalThis.crypto.randomUUID(),
      time: new Date().toISOString(),
      method: request.method,
      path: request.path,
      model: modelOf(request.path),
      status: response.status,
      request: cut(body ?? new Uint8Array(0), maxBytes),
      response: cut(answer, maxBytes),
    };
    const failed = (error: unknown): void =>
      logLine(logger, 'warn', `Payload logging failed: ${toModelshipError(error).message}`, { err: error });
    try {
      void Promise.resolve((payloadLog as NonNullable<typeof payloadLog>).sink(record)).catch(failed);
    } catch (error) {
      failed(error);
    }
  };

  // Requests that arrive while the SDK is still being imported wait for it, so that none goes uncounted.
  let sdkPending = endpoint !== undefined;
  void endpoint?.ready.then(() => (sdkPending = false));
  const dispatch: Dispatch = async (request) => {
    if (sdkPending) await endpoint?.ready;
    if (endpoint !== undefined && request.path === metricsPath) return scrape(request);
    const timed = accessRate > 0;
    const started = timed ? nowNs() : 0;
    const keepPayload = payloadRate > 0 && Math.random() < payloadRate;
    let body: Uint8Array | undefined;
    const seen: InboundRequest = keepPayload
      ? {
          method: request.method,
          path: request.path,
          get signal() {
            return request.signal;
          },
          header: (name) => request.header(name),
          bytes: async (limit) => (body = await request.bytes(limit)),
        }
      : request;
    const response = await inner(seen);
    if (response === undefined) return undefined;
    if (timed && (response.status >= 500 || Math.random() < accessRate)) logAccess(request, response, started);
    if (keepPayload) logPayload(request, response, body);
    return response;
  };
  return { dispatch, close: () => endpoint?.release() ?? Promise.resolve() };
}
