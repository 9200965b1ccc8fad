import type { IncomingMessage, ServerResponse } from 'node:http';
import { toModelshipError } from '../../errors/index.js';
import { PROMETHEUS_CONTENT_TYPE, startPrometheusEndpoint } from '../../telemetry/prometheus-endpoint.js';
import type { ObserveOptions } from '../observe-options.js';

/**
 * `serve(handler, { metrics })`: `GET /metrics` answered by the node:http server itself. It is asked only for
 * paths the handler does not serve (before `fallback`), so the request path of models is untouched.
 */
export interface MetricsRoute {
  /** Settles once the SDK is registered (or failed to be); `serve` waits for it before listening. */
  readonly ready: Promise<void>;
  /** Whether this request is for the metrics path. */
  matches(req: IncomingMessage): boolean;
  /** Answers it: the metrics, or 405 for another method. */
  answer(req: IncomingMessage, res: ServerResponse): void;
  /** Releases the endpoint (the last user shuts the SDK down). */
  close(): Promise<void>;
}

function reply(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

const errorBody = (code: string, message: string): string => JSON.stringify({ error: { code, message } });

/** The metrics route `serve` adds for `metrics: true` (or `{ path, serviceName }`); undefined when off. */
export function metricsRoute(metrics: ObserveOptions['metrics']): MetricsRoute | undefined {
  if (!metrics) return undefined;
  const path = (typeof metrics === 'object' ? metrics.path : undefined) ?? '/metrics';
  const endpoint = startPrometheusEndpoint(
    (typeof metrics === 'object' ? metrics.serviceName : undefined) ?? 'modelship',
  );
  return {
    ready: endpoint.ready,
    matches(req) {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      return (q === -1 ? url : url.slice(0, q)) === path;
    },
    answer(req, res) {
      if (req.method !== 'GET') {
        const body = errorBody('METHOD_NOT_ALLOWED', `${path} answers GET only (Prometheus scrapes).`);
        reply(res, 405, { 'content-type': 'application/json', allow: 'GET' }, body);
        return;
      }
      endpoint.scrape().then(
        (text) => reply(res, 200, { 'content-type': PROMETHEUS_CONTENT_TYPE }, text),
        (error: unknown) => {
          const e = toModelshipError(error);
          reply(res, e.httpStatus, { 'content-type': 'application/json' }, errorBody(e.code, e.message));
        },
      );
    },
    close: () => endpoint.release(),
  };
}
