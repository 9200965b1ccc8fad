export {
  ModelTelemetry,
  tracingEnabled,
  withLoadSpan,
  type GaugeSource,
  type RequestSpans,
} from './model-telemetry.js';
export {
  ATTR,
  BATCH_SIZE_BUCKETS,
  DEPLOYMENT_METRICS,
  DURATION_BUCKETS,
  INSTRUMENTATION_SCOPE,
  METRICS,
} from './names.js';
export { DeploymentTelemetry, type VersionGauge } from './deployment-telemetry.js';
