export { ModelTelemetry, tracingEnabled, withLoadSpan, type GaugeSource, type RequestSpans } from './model-telemetry.js';
export { ATTR, BATCH_SIZE_BUCKETS, DURATION_BUCKETS, INSTRUMENTATION_SCOPE, METRICS } from './names.js';
