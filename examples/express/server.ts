/**
 * An Express app serving the MNIST demo model through modelship's Express middleware, with Prometheus
 * metrics at /metrics. `npm start` (from this folder) trains the model on first run, then serves:
 *
 *   POST /predict          {"inputs": [[…784 pixels…]]} → {"model", "version", "outputs": {"probabilities", "label"}}
 *   GET  /metrics          Prometheus text (OpenTelemetry SDK + Prometheus exporter, wired here by the app)
 *   GET  /healthz, /readyz, /models, /v2/…   the rest of modelship's routes
 *
 * Environment: PORT (default 3000), HOST (default 127.0.0.1).
 */
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import express from 'express';
import { loadModel } from 'modelship';
import { createMiddleware } from 'modelship/express';

// Metrics: the app owns the OpenTelemetry SDK. Registering the provider globally also collects what
// libraries record through @opentelemetry/api, modelship's own instruments included.
const exporter = new PrometheusExporter({ preventServerStart: true });
const meterProvider = new MeterProvider({ readers: [exporter] });
metrics.setGlobalMeterProvider(meterProvider);
const meter = metrics.getMeter('modelship-example-express');
const duration = meter.createHistogram('http.server.request.duration', {
  description: 'Duration of HTTP requests served by this app',
  unit: 's',
  advice: { explicitBucketBoundaries: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] },
});

const model = await loadModel(new URL('./models/mnist.onnx', import.meta.url), { name: 'mnist', version: '1' });
await model.ready();
const modelship = createMiddleware({ models: [model] });

const app = express();
app.use((req, res, next) => {
  const started = performance.now();
  res.on('finish', () => {
    duration.record((performance.now() - started) / 1000, {
      'http.request.method': req.method,
      'http.route': req.path === '/predict' || req.path === '/metrics' ? req.path : 'other',
      'http.response.status_code': res.statusCode,
    });
  });
  next();
});
app.get('/metrics', (req, res) => exporter.getMetricsRequestHandler(req, res));
app.use(modelship);

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const server = app.listen(port, host, () => {
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  console.log(`modelship express example listening on http://${host}:${actual}`);
});

const shutdown = (): void => {
  // Stop taking connections, let in-flight predictions finish, then release the model.
  server.close(() => {
    Promise.all([modelship.close(), meterProvider.shutdown()]).then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
