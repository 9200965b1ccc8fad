import { parseDuration } from '../core/duration.js';
import { parseOptions } from '../core/options.js';
import type { ModelSignature, TensorLike } from '../spec/tensor.js';
import { MonitoringTelemetry } from '../telemetry/monitoring-telemetry.js';
import { driftGauges } from './drift-gauges.js';
import type { Baseline } from './baseline.js';
import { parseBaseline } from './baseline-schema.js';
import {
  DEFAULT_THRESHOLDS,
  DriftWindow,
  baselineCounts,
  compareWindows,
  type DriftReport,
  type DriftThresholds,
  type WindowCounts,
} from './drift-window.js';
import { FeatureExtractor, rowsOf } from './features.js';
import { answerOf, targetOf, type Target } from './feedback-target.js';
import { FeedbackWindow, type FeedbackOutcome } from './feedback-window.js';
import { LiveAccuracy, type LiveAccuracyStats } from './live-accuracy.js';
import { monitoringOptionsSchema, type MonitoringOptions } from './monitoring-options.js';

/** What a model's monitoring knows now. */
export interface MonitoringReport {
  /** The last comparison with the baseline (undefined before the first, or without a baseline). */
  readonly drift: DriftReport | undefined;
  /** The last comparison with another version (a canary's with stable's), if one was made. */
  readonly driftVsStable: DriftReport | undefined;
  /** Rows in the window being filled. */
  readonly windowRows: number;
  readonly live: LiveAccuracyStats;
  /** Predictions recorded with a request id since the model was loaded. */
  readonly predictions: number;
  /** Labels joined since the model was loaded. */
  readonly labels: number;
  /** labels / predictions (undefined before any prediction). */
  readonly labelledShare: number | undefined;
  /** Predictions waiting for a label. */
  readonly pending: number;
}

/**
 * The monitoring of one loaded model version: sampled rows into drift windows compared with the baseline,
 * predictions kept by request id until their label arrives, live accuracy over the last labels, and their
 * OpenTelemetry metrics. Made by `loadModel(ref, { monitoring })`; reached as `model.monitoring`.
 */
export class ModelMonitor {
  readonly baseline: Baseline | undefined;
  readonly #name: string;
  readonly #version: string;
  readonly #sampleRate: number;
  readonly #minSamples: number;
  readonly #maxSamples: number;
  readonly #queueSize: number;
  readonly #thresholds: DriftThresholds;
  readonly #extractor: FeatureExtractor | undefined;
  readonly #window: DriftWindow | undefined;
  readonly #reference: WindowCounts | undefined;
  readonly #feedback: FeedbackWindow;
  readonly #live: LiveAccuracy;
  readonly #target: Target | undefined;
  readonly #telemetry: MonitoringTelemetry;
  readonly #listeners = new Set<(report: DriftReport) => void>();
  readonly #queue: Record<string, TensorLike>[] = [];
  readonly #timer: ReturnType<typeof setInterval> | undefined;
  readonly #budgetTimer: ReturnType<typeof setInterval>;
  #now = Date.now();
  readonly #evicted = { capacity: 0, age: 0 };
  readonly #maxPerSecond: number;
  #budget: number;
  #draining = false;
  #last: DriftReport | undefined;
  #lastWindow: WindowCounts | undefined;
  #vsStable: DriftReport | undefined;
  #predictions = 0;
  #labels = 0;

  constructor(name: string, version: string, signature: ModelSignature, options: MonitoringOptions, stored?: unknown) {
    const o = parseOptions(monitoringOptionsSchema, options, 'monitoring');
    this.#name = name;
    this.#version = version;
    const source = o.baseline ?? stored;
    this.baseline = source === undefined ? undefined : parseBaseline(source, signature);
    this.#sampleRate = this.baseline === undefined ? 0 : (o.sampleRate ?? 0.1);
    this.#minSamples = o.minSamples ?? 200;
    this.#maxSamples = Math.max(o.maxSamples ?? 5000, this.#minSamples);
    this.#queueSize = o.queueSize ?? 256;
    this.#maxPerSecond = o.maxSamplesPerSecond ?? 200;
    this.#budget = this.#maxPerSecond;
    this.#thresholds = { ...DEFAULT_THRESHOLDS, ...o.thresholds };
    if (this.baseline !== undefined) {
      this.#extractor = new FeatureExtractor(this.baseline.sources);
      this.#window = new DriftWindow(this.baseline);
      this.#reference = baselineCounts(this.baseline);
    }
    if (o.onDrift) this.#listeners.add(o.onDrift);
    const f = o.feedback ?? {};
    this.#target = targetOf(signature, f.output, f.task);
    this.#live = new LiveAccuracy(f.accuracyWindow ?? 1000, this.#target?.task ?? 'classification');
    const maxAgeMs = parseDuration(f.maxAge ?? '24h', 'monitoring.feedback.maxAge');
    // Evictions are counted here and added to the counter once a second (a counter call per request is not free).
    this.#feedback = new FeedbackWindow(
      f.capacity ?? 100_000,
      maxAgeMs,
      () => this.#now,
      (reason) => this.#evicted[reason]++,
    );
    this.#telemetry = new MonitoringTelemetry(name, version, {
      driftScores: () => driftGauges([this.#last, this.#vsStable]),
      featuresDrifted: () =>
        [this.#last, this.#vsStable]
          .filter((r) => r !== undefined)
          .map((r) => ({ reference: r.reference, value: r.drifted })),
      live: () => {
        const s = this.#live.stats();
        return {
          accuracy: s.accuracy,
          mae: s.mae,
          rmse: s.rmse,
          labelledShare: this.#share(),
          pending: this.#feedback.pending,
        };
      },
    });
    // Once a second: the sampling budget refills, the clock the join window reads moves on (a one-second
    // resolution is plenty for ages of minutes to hours; no clock read per request), evictions are counted.
    this.#budgetTimer = setInterval(() => this.#tick(), 1000);
    (this.#budgetTimer as { unref?: () => void }).unref?.();
    const intervalMs = parseDuration(o.interval ?? '60s', 'monitoring.interval');
    if (this.#window !== undefined && intervalMs > 0) {
      this.#timer = setInterval(() => {
        if ((this.#window as DriftWindow).rows >= this.#minSamples) this.evaluate();
      }, intervalMs);
      // A Node timer would otherwise keep the process alive; browsers have no unref.
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  #tick(): void {
    this.#budget = this.#maxPerSecond;
    this.#now = Date.now();
    this.#flushEvictions();
  }

  #flushEvictions(): void {
    for (const reason of ['capacity', 'age'] as const) {
      if (this.#evicted[reason] > 0) this.#telemetry.evicted(reason, this.#evicted[reason]);
      this.#evicted[reason] = 0;
    }
  }

  /** Whether this request's rows should be sampled for drift: a coin toss at `sampleRate`, within the second's budget. */
  sample(): boolean {
    if (this.#budget <= 0 || this.#sampleRate === 0 || Math.random() >= this.#sampleRate) return false;
    this.#budget--;
    return true;
  }

  /**
   * Takes an answered request: its prediction is kept under `requestId` for feedback (a request of several rows:
   * row r under `<requestId>#<r>`), and when `sampled` its rows are queued for the drift window.
   */
  observe(
    feeds: Record<string, TensorLike>,
    outputs: Record<string, TensorLike>,
    requestId: string | undefined,
    sampled: boolean,
  ): void {
    if (requestId !== undefined && this.#target !== undefined) {
      const t = outputs[this.#target.output];
      if (t !== undefined) {
        const rows = rowsOf(t);
        if (rows === 1) this.#feedback.record(requestId, answerOf(t, 0));
        else for (let r = 0; r < rows; r++) this.#feedback.record(`${requestId}#${r}`, answerOf(t, r));
        this.#predictions += rows;
      }
    }
    if (!sampled || this.#window === undefined) return;
    if (this.#queue.length >= this.#queueSize) {
      this.#telemetry.samples('dropped', 1);
      return;
    }
    this.#queue.push({ ...feeds, ...outputs });
    if (!this.#draining) {
      this.#draining = true;
      // Read after the answer went out: sketch updates never delay the request that was sampled.
      setTimeout(() => this.#drain(), 0);
    }
  }

  #drain(): void {
    this.#draining = false;
    const extractor = this.#extractor as FeatureExtractor;
    const window = this.#window as DriftWindow;
    for (const tensors of this.#queue.splice(0)) {
      const rows = extractor.extract(tensors, (numeric, categorical) => window.add(numeric, categorical));
      this.#telemetry.samples('sampled', rows);
      if (window.rows >= this.#maxSamples) this.evaluate();
    }
  }

  /** Reads every queued sample now (tests and shutdown; serving drains on its own). */
  flush(): void {
    if (this.#queue.length > 0) this.#drain();
  }

  /**
   * Joins a true label to the prediction made under `requestId`. Unknown, expired and repeated ids are counted
   * and answered, never thrown: labels arriving for requests long gone are normal.
   */
  feedback(requestId: string, label: number): FeedbackOutcome {
    const task = this.#target?.task ?? 'classification';
    if (
      typeof label !== 'number' ||
      !Number.isFinite(label) ||
      (task === 'classification' && !Number.isInteger(label))
    ) {
      this.#telemetry.feedback('invalid');
      return 'invalid';
    }
    const found = this.#feedback.take(requestId);
    if (typeof found === 'string') {
      if (found !== 'unknown') this.#telemetry.feedback(found);
      return found;
    }
    this.#labels++;
    this.#live.add(found.predicted, label);
    if (task === 'classification') this.#telemetry.confusion(label, found.predicted);
    this.#telemetry.feedback('joined');
    return 'joined';
  }

  /** Whether `requestId` was recorded here (it may have expired since). */
  knows(requestId: string): boolean {
    return this.#feedback.knows(requestId);
  }

  /** Compares the window being filled with the baseline now (whatever its size) and starts a new one. */
  evaluate(): DriftReport | undefined {
    this.flush();
    const window = this.#window;
    if (window === undefined || window.rows === 0) return undefined;
    const live = window.snapshot();
    window.reset();
    const report: DriftReport = {
      ...compareWindows(this.baseline as Baseline, this.#reference as WindowCounts, live, this.#thresholds, 'baseline'),
      model: this.#name,
      version: this.#version,
    };
    this.#last = report;
    this.#lastWindow = live;
    for (const listener of this.#listeners) {
      try {
        listener(report);
      } catch {
        // A listener's failure is its own; monitoring goes on.
      }
    }
    return report;
  }

  /**
   * Reference-free drift: this version's last window against `stable`'s (a canary against the stable version, on
   * the same traffic). Undefined until both have compared a window, or when their baselines differ.
   */
  compareWith(stable: ModelMonitor): DriftReport | undefined {
    const mine = this.#lastWindow;
    const theirs = stable.#lastWindow;
    if (mine === undefined || theirs === undefined || this.baseline === undefined) return undefined;
    if (JSON.stringify(this.baseline.sources) !== JSON.stringify(stable.baseline?.sources)) return undefined;
    this.#vsStable = {
      ...compareWindows(this.baseline, theirs, mine, this.#thresholds, 'stable'),
      model: this.#name,
      version: this.#version,
    };
    return this.#vsStable;
  }

  /** Calls `listener` after each comparison with the baseline; returns a function that stops it. */
  onDrift(listener: (report: DriftReport) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Forgets the live-accuracy window (a guardrail acted on what it showed). */
  resetAccuracy(): void {
    this.#live.reset();
  }

  #share(): number | undefined {
    return this.#predictions === 0 ? undefined : this.#labels / this.#predictions;
  }

  /** Drift and live accuracy now: the last comparisons, the window being filled, labels joined and pending. */
  report(): MonitoringReport {
    return {
      drift: this.#last,
      driftVsStable: this.#vsStable,
      windowRows: this.#window?.rows ?? 0,
      live: this.#live.stats(),
      predictions: this.#predictions,
      labels: this.#labels,
      labelledShare: this.#share(),
      pending: this.#feedback.pending,
    };
  }

  /** Model name, for feedback nobody knew. */
  get modelName(): string {
    return this.#name;
  }

  /** Stops the timer and the gauges (the model closed). */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    clearInterval(this.#budgetTimer);
    this.#flushEvictions();
    this.#queue.length = 0;
    this.#telemetry.close();
  }
}

/**
 * `{ monitor }` for `createModel` when `options` (the `monitoring` load option) is set, else nothing. The
 * baseline is `options.baseline`, or the one stored with the version (`stored`).
 */
export function monitorOf(
  options: MonitoringOptions | undefined,
  name: string,
  version: string,
  signature: ModelSignature,
  stored: unknown,
): { monitor?: ModelMonitor } {
  return options === undefined ? {} : { monitor: new ModelMonitor(name, version, signature, options, stored) };
}
