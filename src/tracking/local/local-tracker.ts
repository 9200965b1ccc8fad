import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { NewSpoolRecord } from '../../core/tracking/records.js';
import { validateStartRun } from '../../core/tracking/validate.js';
import { ModelshipError, toModelshipError } from '../../errors/index.js';
import type { FlushReport, TrackingClient, TrackingRun } from '../../spec/tracking.js';
import { createRunHandle, type RunHandle, type RunSink } from '../run-handle.js';
import { mlflowSystemTags } from '../system-tags.js';
import { createReporter } from '../tracker-options.js';
import { createFileStore, type NewRun } from './file-store.js';
import { parseLocalTrackerOptions, type LocalTrackerOptions } from './local-tracker-options.js';

/** The local tracker: the spec's client plus the directory it writes. */
export interface LocalTracker extends TrackingClient {
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

/**
 * Creates the default tracker: runs written as MLflow's file store (`mlruns/`), so `mlflow ui` opened on the
 * directory shows them, with no server. Logging calls return at once; a per-run writer appends to the files in
 * order in the background, `flush()` waits for it, and write failures go to `onError`.
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
  const store = createFileStore(root);
  const report = createReporter(parsed);
  const trackingUri = pathToFileURL(root).href;
  const runs = new Map<string, NewRun>();
  const open = new Map<string, RunHandle>();
  const queue: NewSpoolRecord[] = [];
  let draining: Promise<void> | undefined;
  let initialized: Promise<void> | undefined;
  let closing: Promise<FlushReport> | undefined;

  const failure = (error: unknown, what: string): ModelshipError =>
    toModelshipError(error, 'INTERNAL', `Could not write ${what} under ${root}: ${(error as Error).message}. Check the directory's permissions and free space.`);

  /** Applies queued records in order; consecutive metric points of a key become one append. */
  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.splice(0, queue.length);
      const points = new Map<string, { run: NewRun; key: string; points: { time: number; value: number; step: number }[] }>();
      const writeMetrics = async (): Promise<void> => {
        for (const { run, key, points: p } of points.values()) {
          await store.appendMetric(run, key, p).catch((e: unknown) => report(failure(e, `metric ${key}`)));
        }
        points.clear();
      };
      for (const record of batch) {
        const run = runs.get(record.run) as NewRun;
        if (record.kind === 'metrics') {
          for (const [key, value] of Object.entries(record.metrics)) {
            const id = `${record.run}\u0000${key}`;
            const entry = points.get(id) ?? { run, key, points: [] };
            entry.points.push({ time: record.time, value, step: record.step });
            points.set(id, entry);
          }
          continue;
        }
        await writeMetrics();
        try {
          if (record.kind === 'params') for (const [k, v] of Object.entries(record.params)) await store.writeParam(run, k, v);
          else if (record.kind === 'tags') for (const [k, v] of Object.entries(record.tags)) await store.writeTag(run, k, v);
          else if (record.kind === 'end') await store.endRun(run, record.status, record.time);
        } catch (error) {
          report(failure(error, `${record.kind} of run ${record.run}`));
        }
      }
      await writeMetrics();
    }
  }

  function kick(): void {
    draining ??= drain().finally(() => {
      draining = undefined;
      if (queue.length > 0) kick();
    });
  }

  const sink: RunSink = {
    record(record) {
      queue.push(record);
      kick();
    },
    async artifact(runId, source, artifactPath) {
      if (typeof source === 'string' && !(await stat(source).then((s) => s.isFile(), () => false))) {
        throw new ModelshipError('INVALID_ARGUMENT', `logArtifact(): no file at ${resolvePath(source)}.`, { details: { file: resolvePath(source) } });
      }
      try {
        await store.writeArtifact(runs.get(runId) as NewRun, artifactPath, source);
      } catch (error) {
        throw failure(error, `artifact ${artifactPath}`);
      }
    },
    async remote(runId) {
      const run = runs.get(runId) as NewRun;
      return { trackingUri, runId, experimentId: run.experimentId };
    },
    report,
  };

  async function flush(timeoutMs: number): Promise<FlushReport> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const done = (async () => {
      while (draining !== undefined) await draining;
      return true as const;
    })();
    const delivered = await Promise.race([done, timedOut]);
    clearTimeout(timer);
    return { delivered, pendingRecords: queue.length };
  }

  const tracker: LocalTracker = {
    specificationVersion: 'v1',
    kind: 'local',
    root,
    trackingUri,

    async startRun(input): Promise<TrackingRun> {
      const { experiment, name, tags } = validateStartRun(input);
      if (closing !== undefined) throw new ModelshipError('NOT_READY', 'startRun() on a closed tracker; create a new tracker.');
      try {
        initialized ??= store.init();
        await initialized;
        const experimentId = await store.ensureExperiment(experiment);
        const runId = randomBytes(16).toString('hex');
        const system = mlflowSystemTags();
        const run: NewRun = { experimentId, runId, name: name ?? `run-${runId.slice(0, 8)}`, user: system['mlflow.user'] ?? '', startTime: Date.now() };
        await store.createRun(run, { ...system, ...tags, 'mlflow.runName': run.name });
        runs.set(runId, run);
        const handle = createRunHandle({ id: runId, experiment, name: run.name, sink, onEnd: (id) => open.delete(id) });
        open.set(runId, handle);
        return handle;
      } catch (error) {
        initialized = undefined;
        throw failure(error, `run of experiment ${JSON.stringify(experiment)}`);
      }
    },

    flush: (flushOptions) => flush(flushOptions?.timeoutMs ?? 30_000),

    close(closeOptions) {
      closing ??= (async () => {
        await Promise.allSettled([...open.values()].map((run) => run.end('FINISHED')));
        return flush(closeOptions?.timeoutMs ?? 30_000);
      })();
      return closing;
    },

    [Symbol.asyncDispose]: () => tracker.close().then(() => undefined),
  };
  return tracker;
}
