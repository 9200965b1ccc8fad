/**
 * Metric and span names, attribute keys and bucket boundaries. Durations are in seconds, as OpenTelemetry's
 * semantic conventions ask; Prometheus shows them as `modelship_request_duration_seconds_bucket` etc.
 */
export const METRICS = {
  requestDuration: 'modelship.request.duration',
  queueDuration: 'modelship.queue.duration',
  inferenceDuration: 'modelship.inference.duration',
  batchSize: 'modelship.batch.size',
  requests: 'modelship.requests',
  inFlight: 'modelship.requests.in_flight',
  queueDepth: 'modelship.queue.depth',
  workerRestarts: 'modelship.worker.restarts',
  httpErrors: 'modelship.http.errors',
} as const;

/** Deployment metrics (canary, shadow, blue-green). */
export const DEPLOYMENT_METRICS = {
  requests: 'modelship.deployment.requests',
  duration: 'modelship.deployment.request.duration',
  shadowRequests: 'modelship.shadow.requests',
  shadowDuration: 'modelship.shadow.duration',
  agreement: 'modelship.shadow.agreement',
  weight: 'modelship.deployment.weight',
  changes: 'modelship.deployment.changes',
} as const;

/** Attribute names, in semantic-convention style. */
export const ATTR = {
  deployment: 'deployment.name',
  role: 'deployment.role',
  modelName: 'model.name',
  modelVersion: 'model.version',
  outcome: 'outcome',
  errorType: 'error.type',
} as const;

/** 50 µs to 10 s: small models answer in tens of microseconds, big ones in seconds. */
export const DURATION_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Rows per batch, powers of two up to 1024. */
export const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** Name of the meter and tracer modelship uses. */
export const INSTRUMENTATION_SCOPE = 'modelship';
