import { validateArtifactPath, validateMetrics, validateParams, validateTags } from './validate.js';
import type { NewSpoolRecord } from './records.js';
import { ModelshipError } from '../errors/index.js';
import type { RemoteRunRef, RunEndStatus, TrackingRun } from '../spec/tracking.js';

/** Where a run handle sends what it validated: a spool (network trackers) or the file store (local). */
export interface RunSink {
  /** Records one item. Must not throw: failures go to the tracker's `onError`. */
  record(record: NewSpoolRecord): void;
  /** Stores artifact content durably, then records it. */
  artifact(runId: string, source: string | Uint8Array, artifactPath: string): Promise<void>;
  remote(runId: string, timeoutMs: number): Promise<RemoteRunRef>;
  /** Told about calls on an ended run, which are dropped rather than thrown into the caller's code. */
  report(error: ModelshipError): void;
}

/** A run handle, plus what its tracker needs to end it on close. */
export interface RunHandle extends TrackingRun {
  readonly ended: boolean;
}

const RUN_END_STATUSES: readonly RunEndStatus[] = ['FINISHED', 'FAILED', 'KILLED'];

/**
 * The part of a run every tracker shares: argument validation (throws for programming errors), params being
 * immutable, the automatic step, and what happens after `end` (calls are reported to `onError` and dropped, so a
 * timer still logging after shutdown cannot crash the app).
 */
export function createRunHandle(init: {
  id: string;
  experiment: string;
  name: string;
  sink: RunSink;
  onEnd?: (id: string) => void;
}): RunHandle {
  const { id, sink } = init;
  const params = new Map<string, string>();
  const artifacts = new Set<Promise<unknown>>();
  let lastStep = -1;
  let ending: Promise<void> | undefined;

  const isOpen = (call: string): boolean => {
    if (ending === undefined) return true;
    sink.report(
      new ModelshipError(
        'INVALID_ARGUMENT',
        `${call} on run ${id} after it ended; the call was dropped. Start a new run to log more.`,
        { details: { run: id } },
      ),
    );
    return false;
  };

  return {
    id,
    experiment: init.experiment,
    name: init.name,
    get ended() {
      return ending !== undefined;
    },

    logParams(values) {
      const checked = validateParams(values, params);
      if (!isOpen('logParams()')) return;
      const fresh = Object.fromEntries(Object.entries(checked).filter(([k]) => !params.has(k)));
      for (const [k, v] of Object.entries(fresh)) params.set(k, v);
      if (Object.keys(fresh).length > 0) sink.record({ run: id, kind: 'params', params: fresh });
    },

    logMetrics(values, options) {
      const { metrics, step, timestamp } = validateMetrics(values, options, lastStep);
      if (!isOpen('logMetrics()')) return;
      lastStep = step;
      if (Object.keys(metrics).length > 0) sink.record({ run: id, kind: 'metrics', metrics, step, time: timestamp });
    },

    setTags(values) {
      const tags = validateTags(values);
      if (!isOpen('setTags()')) return;
      if (Object.keys(tags).length > 0) sink.record({ run: id, kind: 'tags', tags });
    },

    async logArtifact(source, artifactPath) {
      validateArtifactPath(artifactPath);
      if (typeof source !== 'string' && !(source instanceof Uint8Array)) {
        throw new ModelshipError(
          'INVALID_ARGUMENT',
          'logArtifact() takes a file path or a Uint8Array, and the artifact path.',
        );
      }
      if (!isOpen('logArtifact()')) return;
      const stored = sink.artifact(id, source, artifactPath);
      artifacts.add(stored);
      try {
        await stored;
      } finally {
        artifacts.delete(stored);
      }
    },

    end(status = 'FINISHED') {
      if (!RUN_END_STATUSES.includes(status)) {
        throw new ModelshipError(
          'INVALID_ARGUMENT',
          `Invalid run status ${JSON.stringify(status)}; use ${RUN_END_STATUSES.join(', ')}.`,
        );
      }
      ending ??= (async () => {
        // An artifact still being copied belongs before the end record.
        await Promise.allSettled([...artifacts]);
        sink.record({ run: id, kind: 'end', status, time: Date.now() });
        init.onEnd?.(id);
      })();
      return ending;
    },

    remote(options) {
      return sink.remote(id, options?.timeoutMs ?? 10_000);
    },
  };
}
