/**
 * `npm run example:prometheus`: the MNIST model served with `/metrics` for Prometheus.
 *
 *   PORT=8080 npm run example:prometheus
 *   prometheus --config.file=examples/prometheus/prometheus.yml   # scrapes localhost:8080/metrics
 *
 * Then import examples/prometheus/grafana-dashboard.json into Grafana (data source: that Prometheus).
 */
import { createHandler, loadModel } from 'modelship';
import { serve } from 'modelship/node';
import { buildTinyMnistModel } from '../shared/demo-model.js';
import { startPrometheusMetrics } from './metrics.js';

const metrics = startPrometheusMetrics();
const built = buildTinyMnistModel();
const model = await loadModel(built.onnx, { name: 'mnist', version: '1' });
await model.ready();
const server = await serve(createHandler({ models: [model] }), {
  port: Number(process.env.PORT ?? 8080),
  fallback: metrics.handle,
});
console.log(`mnist on ${server.url}/predict, metrics on ${server.url}/metrics`);
process.once(
  'SIGTERM',
  () =>
    void server
      .close()
      .then(() => metrics.shutdown())
      .then(() => process.exit(0)),
);
process.once(
  'SIGINT',
  () =>
    void server
      .close()
      .then(() => metrics.shutdown())
      .then(() => process.exit(0)),
);
