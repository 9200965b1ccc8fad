/** A param value as given; trackers store params as strings (`0.1`, `true`, `adam`). */
export type ParamValue = string | number | boolean;

/** How a run ended, in MLflow's vocabulary (W&B gets an exit code: 0 for `FINISHED`, non-zero otherwise). */
export type RunEndStatus = 'FINISHED' | 'FAILED' | 'KILLED';

/** What `startRun` takes. */
export interface StartRunInput {
  /** Experiment (MLflow) or group of runs the run belongs to; created on first use. */
  readonly experiment: string;
  /** Display name; trackers generate one when absent. */
  readonly name?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

/** Options of one `logMetrics` call. */
export interface LogMetricsOptions {
  /**
   * Integer step shared by every metric of the call (an epoch, an interval number). When absent the run's
   * previous step + 1 is used (0 for the first call), so each call is one point per metric.
   */
  readonly step?: number;
  /** Milliseconds since the epoch; defaults to now. Recorded with the point, so replays are identical. */
  readonly timestamp?: number;
}

/** Where a run lives on its tracking server, for lineage and links. */
export interface RemoteRunRef {
  /** The tracker's URI: `file:///…/mlruns`, `http://mlflow:5000`, `https://api.wandb.ai/<entity>/<project>`. */
  readonly trackingUri: string;
  /**
   * The run's id on the server. `undefined` while a network tracker has not created the run yet (the server
   * was unreachable); records are spooled meanwhile and the run is created once it answers.
   */
  readonly runId: string | undefined;
  readonly experimentId?: string;
  /** A link to the run in the tracker's UI, where there is one. */
  readonly url?: string;
}

/**
 * One run. The logging calls return at once: they validate their arguments (throwing `INVALID_PARAM` or
 * `INVALID_ARGUMENT` for a programming error), record what they were given, and leave delivery to the
 * tracker, which never throws delivery failures at the caller (they go to its `onError`).
 */
export interface TrackingRun {
  /** The tracker's id for this run: the server's run id for local and W&B, the spool's key for MLflow. */
  readonly id: string;
  readonly experiment: string;
  readonly name: string;
  /** Records params. A param keeps its first value: logging it again with another value is `INVALID_PARAM`. */
  logParams(params: Readonly<Record<string, ParamValue>>): void;
  /** Records one point per metric, all at the same step and timestamp. */
  logMetrics(metrics: Readonly<Record<string, number>>, options?: LogMetricsOptions): void;
  /** Sets tags (a later value replaces an earlier one). */
  setTags(tags: Readonly<Record<string, string>>): void;
  /**
   * Stores a file (path) or bytes as the run artifact `artifactPath` (`model/model.onnx`). Resolves once the
   * content is safely recorded (copied into the spool or the run directory), not when it is uploaded.
   */
  logArtifact(source: string | Uint8Array, artifactPath: string): Promise<void>;
  /** Ends the run (default `FINISHED`). Resolves once recorded; later logging calls are `INVALID_ARGUMENT`. */
  end(status?: RunEndStatus): Promise<void>;
  /** Where the run lives on the server; waits up to `timeoutMs` (default 10 s) for a network tracker to create it. */
  remote(options?: { readonly timeoutMs?: number }): Promise<RemoteRunRef>;
}

/** What `flush` and `close` report. */
export interface FlushReport {
  /** True when everything recorded so far has been delivered (or written, for the local tracker). */
  readonly delivered: boolean;
  /** Records still waiting in the spool (0 for the local tracker once written). */
  readonly pendingRecords: number;
  /**
   * Present when records this tracker was meant to deliver are gone for good (a spool segment deleted or
   * damaged on disk, records dropped while the disk was full); `delivered` is then false.
   */
  readonly lostRecords?: number;
  /** The spool directory holding what remains, for network trackers. */
  readonly spoolDir?: string;
}

/**
 * An experiment tracker: MLflow, Weights & Biases, or the local MLflow-layout directory. Created with
 * `createLocalTracker`, `createMlflowTracker`, `createWandbTracker` or `createTracker` (picks one from the
 * environment).
 */
export interface TrackingClient extends AsyncDisposable {
  readonly specificationVersion: 'v1';
  /** `local`, `mlflow` or `wandb`. */
  readonly kind: string;
  /** Where runs go (see {@link RemoteRunRef.trackingUri}). */
  readonly trackingUri: string;
  /** Starts a run in an experiment (created when missing); log to the run it resolves with, then `end()` it. */
  startRun(input: StartRunInput): Promise<TrackingRun>;
  /** Waits until everything recorded so far is delivered, or `timeoutMs` passes (default 30 s). Never rejects. */
  flush(options?: { readonly timeoutMs?: number }): Promise<FlushReport>;
  /**
   * Ends runs still open (`FINISHED`), flushes with `timeoutMs` (default 30 s) and stops. What could not be
   * delivered stays in the spool and is replayed by the next tracker started on the same spool directory.
   */
  close(options?: { readonly timeoutMs?: number }): Promise<FlushReport>;
}
