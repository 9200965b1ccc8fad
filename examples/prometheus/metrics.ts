/**
 * The application side of modelship's metrics: modelship records through `@opentelemetry/api` only; the app
 * installs the SDK. Here: a MeterProvider with the Prometheus exporter, whose request handler answers
 * `GET /metrics` on the app's own server (no second port).
 *
 * Register it before loading models, so their instruments come from this provider from the start.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

export interface PrometheusMetrics {
  /** Node listener for `GET /metrics` (Prometheus text format); 404 for other paths. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  shutdown(): Promise<void>;
}

/** Registers a global MeterProvider that Prometheus can scrape. */
export function startPrometheusMetrics(): PrometheusMetrics {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  metrics.setGlobalMeterProvider(provider);
  return {
    handle(req, res) {
      if (req.method === 'GET' && (req.url ?? '').split('?')[0] === '/metrics') {
        exporter.getMetricsRequestHandler(req, res);
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'ROUTE_NOT_FOUND', message: `No route for ${req.method} ${req.url}` } }));
    },
    async shutdown() {
      await provider.shutdown();
      metrics.disable();
    },
  };
}
