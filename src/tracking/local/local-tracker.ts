import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createSpooledTracker, type SpooledTracker } from '../spool/spooled-tracker.js';
import { createFileStore } from './file-store.js';
import { parseLocalTrackerOptions, type LocalTrackerOptions } from './local-tracker-options.js';
import { createLocalTransport } from './local-transport.js';

/** The local tracker: the spec's client plus the directory it writes, and its spool. */
export interface LocalTracker extends SpooledTracker {
  readonly kind: 'local';
  /** Absolute path of the `mlruns` directory. */
  readonly root: string;
}

/** The default root: the path of a `file:` `MLFLOW_TRACKING_URI`, else `./mlruns` (MLflow's own default). */
function defaultRoot(env: NodeJS.ProcessEnv): string {
  const uri = env.MLFLOW_TRACKING_URI;
  if (uri?.startsWith('file:') === true) return fileURLToPath(uri);
  return 'mlruns';
}

/** Applied quickly: there is no server round trip to save, only the acknowledgement write per batch. */
const LOCAL_LINGER_MS = 20;

/**
 * Creates the default tracker: runs written as MLflow's file store (`mlruns/`), so `mlflow ui` opened on the
 * directory shows them, with no server. It keeps the network trackers' promise: every call is appended to a
 * spool (`.modelship/spool` beside the root) first (a logged point survives the process being killed) and applied to
 * the run files in the background, in order; `flush()` waits for that, write failures go to `onError` and are
 * retried, and records a killed process left are applied by the next tracker started on the directory.
 *
 * @example
 * ```ts
 * const tracker = createLocalTracker({ root: './mlruns' });
 * const run = await tracker.startRun({ experiment: 'mnist', name: 'baseline' });
 * run.logParams({ lr: 0.1 });
 * run.logMetrics({ loss: 0.4, accuracy: 0.9 }, { step: 1 });
 * await run.logArtifact('./mnist.onnx', 'model/model.onnx');
 * await run.end();
 * await tracker.close();   // then: mlflow ui --backend-store-uri ./mlruns
 * ```
 */
export function createLocalTracker(options: LocalTrackerOptions = {}): LocalTracker {
  const parsed = parseLocalTrackerOptions(options);
  const root = resolvePath(parsed.root ?? defaultRoot(process.env));
  const trackingUri = pathToFileURL(root).href;
  const tracker = createSpooledTracker({
    kind: 'local',
    trackingUri,
    destination: root,
    transport: createLocalTransport(createFileStore(root), trackingUri),
    options: {
      ...parsed,
      spoolDir: parsed.spoolDir ?? process.env.MODELSHIP_SPOOL_DIR ?? join(dirname(root), '.modelship', 'spool'),
      lingerMs: LOCAL_LINGER_MS,
      retry: { initialDelayMs: 200, maxDelayMs: 5000 },
    },
  });
  return Object.assign(tracker, { root }) as LocalTracker;
}
