/**
 * `npm run example:prometheus`: the MNIST model served with the built-in `/metrics` for Prometheus.
 *
 *   PORT=8080 npm run example:prometheus
 *   prometheus --config.file=examples/prometheus/prometheus.yml   # scrapes localhost:8080/metrics
 *
 * Then import examples/prometheus/grafana-dashboard.json into Grafana (data source: that Prometheus).
 * `metrics: true` needs the optional peers @opentelemetry/sdk-metrics, @opentelemetry/exporter-prometheus and
 * @opentelemetry/resources; an app with its own OpenTelemetry SDK uses metrics.ts instead.
 */
import { createEcsLogger, createHandler, loadModel } from 'modelship';
import { serve } from 'modelship/node';
import { buildTinyMnistModel } from '../shared/demo-model.js';

const logger = createEcsLogger({ serviceName: 'mnist-example' });
const built = buildTinyMnistModel();
const model = await loadModel(built.onnx, { name: 'mnist', version: '1', logger });
await model.ready();
const handler = createHandler({
  models: [model],
  logger,
  metrics: { serviceName: 'mnist-example' },
  accessLog: { sampleRate: 0.1 },
});
const server = await serve(handler, { port: Number(process.env.PORT ?? 8080) });
logger.info(`mnist on ${server.url}/predict, metrics on ${server.url}/metrics`);
const stop = (): void => void server.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
