import type { WindowStats } from './policy/index.js';
import type { MonitoredStats } from './policy/guardrail-check.js';
import { toModelshipError } from '../errors/index.js';
import type { Logger } from '../serving/logger.js';
import type { TrackingClient, TrackingRun } from '../spec/tracking.js';

/** One version as the deployment sees it at a sample: its role, its share of traffic and its window. */
export interface EvidenceVersion {
  readonly version: string;
  readonly ref: string;
  readonly role: 'stable' | 'canary' | 'shadow' | 'previous';
  readonly weight: number;
  /** The window, plus live accuracy and drift for versions loaded with `monitoring`. */
  readonly stats: WindowStats & MonitoredStats;
}

/** A change worth a tag: what happened, to which version, why. */
export interface EvidenceEvent {
  /** `switch`, `promote`, `rollback`, `guardrail`, `refused`. */
  readonly kind: string;
  readonly version: string;
  /** Human-readable reason, stored as the tag value. */
  readonly reason: string;
}

/** Everything the deployment passes to its {@link Evidence}. */
export interface EvidenceOptions {
  readonly tracker: TrackingClient;
  readonly deployment: string;
  /** Experiment the runs go under (default: the deployment's name). */
  readonly experiment: string;
  readonly params: Readonly<Record<string, string | number>>;
  readonly logger: Logger;
  /** How long `close` waits for the tracker before giving up on what is left. */
  readonly closeTimeoutMs: number;
}

/** Metric names, shared with the docs and the tests. */
export const EVIDENCE_METRICS = {
  requests: 'requests',
  errors: 'errors',
  errorRate: 'error_rate',
  p50: 'latency_p50_ms',
  p99: 'latency_p99_ms',
  agreement: 'shadow_agreement',
  weight: 'weight',
  liveAccuracy: 'live_accuracy',
  labelled: 'labelled',
  driftShare: 'drift_share',
} as const;

/**
 * Production evidence: one tracking run per version of a deployment, fed from the deployment's sliding windows
 * at each interval (nothing is added to the request path), tagged with the changes the deployment makes.
 * Every tracker call happens on one serial chain off the serving path; a failure is logged and forgotten, never
 * thrown at a caller.
 */
export class Evidence {
  readonly #opts: EvidenceOptions;
  readonly #runs = new Map<string, Promise<TrackingRun | undefined>>();
  #chain: Promise<void> = Promise.resolve();
  #step = 0;
  #closed = false;
  #warned = false;

  constructor(options: EvidenceOptions) {
    this.#opts = options;
  }

  /** The step the next sample is logged at (events in between are logged at it too). */
  get step(): number {
    return this.#step;
  }

  #enqueue(task: () => Promise<void>): void {
    if (this.#closed) return;
    this.#chain = this.#chain.then(task).catch((error: unknown) => this.#fail(error));
  }

  #fail(error: unknown): void {
    const e = toModelshipError(error);
    // One warning per deployment is enough to notice; the tracker reports its own delivery failures.
    const log = this.#warned
      ? this.#opts.logger.debug?.bind(this.#opts.logger)
      : this.#opts.logger.warn.bind(this.#opts.logger);
    this.#warned = true;
    log?.(`Deployment ${this.#opts.deployment}: production evidence not recorded (${e.code}: ${e.message}).`);
  }

  #run(v: { version: string; ref: string; role: string }): Promise<TrackingRun | undefined> {
    let run = this.#runs.get(v.version);
    if (run === undefined) {
      const { tracker, deployment, experiment, params } = this.#opts;
      run = (async () => {
        const started = await tracker.startRun({
          experiment,
          name: `${deployment} v${v.version}`,
          tags: {
            'modelship.deployment': deployment,
            'modelship.version': v.version,
            'modelship.ref': v.ref,
            'modelship.role': v.role,
          },
        });
        started.logParams({ ...params, deployment, version: v.version, ref: v.ref });
        return started;
      })().catch((error: unknown) => {
        this.#fail(error);
        return undefined;
      });
      this.#runs.set(v.version, run);
    }
    return run;
  }

  /** Logs one point per metric and version; versions no longer served end their run (FINISHED). */
  sample(versions: readonly EvidenceVersion[], timestamp: number): void {
    const step = this.#step++;
    this.#enqueue(async () => {
      for (const v of versions) {
        const run = await this.#run(v);
        if (run === undefined) continue;
        const s = v.stats;
        const metrics: Record<string, number> = {
          [EVIDENCE_METRICS.requests]: s.requests,
          [EVIDENCE_METRICS.errors]: s.errors,
          [EVIDENCE_METRICS.errorRate]: s.errorRate,
          [EVIDENCE_METRICS.weight]: v.weight,
        };
        if (s.p50Ms !== undefined) metrics[EVIDENCE_METRICS.p50] = s.p50Ms;
        if (s.p99Ms !== undefined) metrics[EVIDENCE_METRICS.p99] = s.p99Ms;
        if (s.agreement !== undefined) metrics[EVIDENCE_METRICS.agreement] = s.agreement;
        if (s.liveAccuracy !== undefined) metrics[EVIDENCE_METRICS.liveAccuracy] = s.liveAccuracy;
        if (s.labelled !== undefined) metrics[EVIDENCE_METRICS.labelled] = s.labelled;
        if (s.driftShare !== undefined) metrics[EVIDENCE_METRICS.driftShare] = s.driftShare;
        run.logMetrics(metrics, { step, timestamp });
        run.setTags({ 'modelship.role': v.role });
      }
      const present = new Set(versions.map((v) => v.version));
      for (const [version, pending] of [...this.#runs]) {
        if (present.has(version)) continue;
        this.#runs.delete(version);
        const run = await pending;
        await run?.end('FINISHED');
      }
    });
  }

  /**
   * Tags the version's run with `deployment.<kind>` = reason and `deployment.<kind>.step`, and logs the metric
   * `event.<kind>` = 1 at the current step, so the change shows on the run's charts too.
   */
  event(event: EvidenceEvent, ref: string, role: string, timestamp: number): void {
    const step = this.#step;
    this.#enqueue(async () => {
      const run = await this.#run({ version: event.version, ref, role });
      if (run === undefined) return;
      run.setTags({ [`deployment.${event.kind}`]: event.reason, [`deployment.${event.kind}.step`]: String(step) });
      run.logMetrics({ [`event.${event.kind}`]: 1 }, { step, timestamp });
    });
  }

  /** Logs the last sample, then ends every run (FINISHED). Does not close the tracker: its owner does. */
  async close(last: readonly EvidenceVersion[] | undefined, timestamp: number): Promise<void> {
    if (this.#closed) return;
    if (last !== undefined) this.sample(last, timestamp);
    this.#enqueue(async () => {
      const runs = [...this.#runs.values()];
      this.#runs.clear();
      for (const pending of runs) await (await pending)?.end('FINISHED');
    });
    this.#closed = true;
    // A tracker that never answers must not keep the deployment from closing.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.#opts.closeTimeoutMs);
    });
    const late = await Promise.race([this.#chain.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late)
      this.#opts.logger.warn(
        `Deployment ${this.#opts.deployment}: the tracker did not finish the production evidence runs within ${this.#opts.closeTimeoutMs} ms; closing without them.`,
      );
  }
}
