import { createTrackerHttp } from '../http.js';
import { createSpooledTracker, type SpooledTracker } from '../spool/spooled-tracker.js';
import { SPOOL_DEFAULTS } from '../spool/spool-options.js';
import type { MlflowCredentials } from '../../clients/mlflow/auth.js';
import { createMlflowClient } from '../../clients/mlflow/mlflow-client.js';
import { createMlflowTransport } from './mlflow-transport.js';
import { parseMlflowTrackerOptions, type MlflowTrackerOptions } from './mlflow-tracker-options.js';

/** The tracker never waits inside its client (retries: 0); the flusher backs off with the spool's policy. */
const NO_BACKOFF = { baseMs: 0, maxMs: 0 };

/** An MLflow tracker: the spec's client, its spool, and `stats()`. */
export type MlflowTracker = SpooledTracker & { readonly kind: 'mlflow' };

/**
 * Creates a tracker that logs to an MLflow tracking server (2.x REST API). Every call is spooled to disk first
 * and shipped in the background in `runs/log-batch` requests that respect the server's limits (1000 metrics,
 * 100 params, 100 tags, 1000 items, 1 MB per request); while the server is down the app keeps running, the
 * spool grows on disk, and delivery resumes when it is back, or in the next process to start a tracker here.
 *
 * @example
 * ```ts
 * const tracker = createMlflowTracker({ trackingUri: 'http://localhost:5000' }); // or MLFLOW_TRACKING_URI
 * const run = await tracker.startRun({ experiment: 'mnist', name: 'lr-0.1' });
 * run.logParams({ lr: 0.1, epochs: 5 });
 * for (let epoch = 0; epoch < 5; epoch++) run.logMetrics({ loss: train(epoch) }, { step: epoch });
 * await run.logArtifact('./mnist.onnx', 'model/model.onnx');
 * await run.end();
 * const { delivered, pendingRecords } = await tracker.close({ timeoutMs: 10_000 });
 * ```
 */
export function createMlflowTracker(options: MlflowTrackerOptions = {}): MlflowTracker {
  const parsed = parseMlflowTrackerOptions(options);
  // Credentials in the URI are moved into a header, so the URI can be shown and recorded without them. Explicit
  // options come first, then the URI, then MLFLOW_TRACKING_USERNAME/PASSWORD, then MLFLOW_TRACKING_TOKEN.
  const given = (options ?? {}) as MlflowCredentials;
  const mlflow = createMlflowClient({
    trackingUri: parsed.trackingUri,
    token: given.token,
    username: given.username,
    password: given.password,
    fetch: parsed.fetch ?? globalThis.fetch,
    timeoutMs: parsed.requestTimeoutMs ?? SPOOL_DEFAULTS.requestTimeoutMs,
    // Each request is sent once: the spool flusher is the retry loop (forever, for durability).
    retries: 0,
    backoff: NO_BACKOFF,
  });
  const base = mlflow.trackingUri;
  return createSpooledTracker({
    kind: 'mlflow',
    trackingUri: base,
    destination: base,
    transport: createMlflowTransport(mlflow, createTrackerHttp(mlflow.http)),
    options: parsed,
  }) as MlflowTracker;
}
