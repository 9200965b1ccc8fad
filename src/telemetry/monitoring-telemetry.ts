import {
  metrics,
  ValueType,
  type Attributes,
  type Counter,
  type MeterProvider,
  type ObservableGauge,
  type ObservableResult,
} from '@opentelemetry/api';
import { MONITORING_ATTR, MONITORING_METRICS } from './monitoring-names.js';
import { ATTR, INSTRUMENTATION_SCOPE } from './names.js';

interface Instruments {
  readonly provider: MeterProvider;
  readonly driftScore: ObservableGauge;
  readonly featuresDrifted: ObservableGauge;
  readonly liveAccuracy: ObservableGauge;
  readonly liveMae: ObservableGauge;
  readonly liveRmse: ObservableGauge;
  readonly labelledShare: ObservableGauge;
  readonly pending: ObservableGauge;
  readonly samples: Counter;
  readonly confusion: Counter;
  readonly feedback: Counter;
  readonly evicted: Counter;
}

let shared: Instruments | undefined;

function instruments(): Instruments {
  const provider = metrics.getMeterProvider();
  if (shared?.provider === provider) return shared;
  const meter = provider.getMeter(INSTRUMENTATION_SCOPE);
  const gauge = (name: string, unit: string, description: string): ObservableGauge =>
    meter.createObservableGauge(name, { unit, description });
  const count = (name: string, unit: string, description: string): Counter =>
    meter.createCounter(name, { unit, description, valueType: ValueType.INT });
  const m = MONITORING_METRICS;
  shared = {
    provider,
    driftScore: gauge(m.driftScore, '1', 'Drift of one feature in the last compared window, by metric.'),
    featuresDrifted: gauge(m.featuresDrifted, '{feature}', 'Features over their drift threshold in the last window.'),
    liveAccuracy: gauge(m.liveAccuracy, '1', 'Share of correct answers over the last labelled predictions.'),
    liveMae: gauge(m.liveMae, '1', 'Mean absolute error over the last labelled predictions.'),
    liveRmse: gauge(m.liveRmse, '1', 'Root mean squared error over the last labelled predictions.'),
    labelledShare: gauge(m.labelledShare, '1', 'Share of recorded predictions that received a label.'),
    pending: gauge(m.feedbackPending, '{prediction}', 'Predictions waiting for a label in the join window.'),
    samples: count(m.driftSamples, '{row}', 'Rows taken into the drift sketches, or dropped when the queue was full.'),
    confusion: count(m.confusion, '{prediction}', 'Labelled predictions by true and predicted class.'),
    feedback: count(m.feedback, '{label}', 'Feedback calls by outcome.'),
    evicted: count(m.feedbackEvicted, '{prediction}', 'Predictions dropped from the join window without a label.'),
  };
  return shared;
}

/** One drift gauge value. */
export interface DriftGaugeValue {
  readonly feature: string;
  readonly metric: string;
  readonly reference: string;
  readonly value: number;
}

/** What the monitoring gauges read when the SDK collects. */
export interface MonitoringGaugeSource {
  driftScores(): readonly DriftGaugeValue[];
  featuresDrifted(): readonly { readonly reference: string; readonly value: number }[];
  live(): {
    readonly accuracy?: number | undefined;
    readonly mae?: number | undefined;
    readonly rmse?: number | undefined;
    readonly labelledShare?: number | undefined;
    readonly pending: number;
  };
}

/** Feedback counted for a model name alone (no version knew the request id). */
export function countUnmatchedFeedback(modelName: string, outcome: 'unknown' | 'expired' | 'invalid'): void {
  instruments().feedback.add(1, { [ATTR.modelName]: modelName, [MONITORING_ATTR.outcome]: outcome });
}

/** The drift and live-accuracy metrics of one model version (names in monitoring-names.ts). */
export class MonitoringTelemetry {
  readonly #base: Attributes;
  readonly #source: MonitoringGaugeSource;
  readonly #outcomes = new Map<string, Attributes>();
  #registered: Instruments | undefined;
  readonly #observeDrift = (r: ObservableResult): void => {
    for (const d of this.#source.driftScores())
      r.observe(d.value, {
        ...this.#base,
        [MONITORING_ATTR.feature]: d.feature,
        [MONITORING_ATTR.metric]: d.metric,
        [MONITORING_ATTR.reference]: d.reference,
      });
  };
  readonly #observeDrifted = (r: ObservableResult): void => {
    for (const d of this.#source.featuresDrifted())
      r.observe(d.value, { ...this.#base, [MONITORING_ATTR.reference]: d.reference });
  };
  readonly #observeLive = (
    r: ObservableResult,
    key: 'accuracy' | 'mae' | 'rmse' | 'labelledShare' | 'pending',
  ): void => {
    const value = this.#source.live()[key];
    if (value !== undefined) r.observe(value, this.#base);
  };
  readonly #accuracy = (r: ObservableResult): void => this.#observeLive(r, 'accuracy');
  readonly #mae = (r: ObservableResult): void => this.#observeLive(r, 'mae');
  readonly #rmse = (r: ObservableResult): void => this.#observeLive(r, 'rmse');
  readonly #share = (r: ObservableResult): void => this.#observeLive(r, 'labelledShare');
  readonly #pending = (r: ObservableResult): void => this.#observeLive(r, 'pending');

  constructor(modelName: string, version: string, source: MonitoringGaugeSource) {
    this.#base = { [ATTR.modelName]: modelName, [ATTR.modelVersion]: version };
    this.#source = source;
    this.#register();
  }

  #pairs(i: Instruments): [ObservableGauge, (r: ObservableResult) => void][] {
    return [
      [i.driftScore, this.#observeDrift],
      [i.featuresDrifted, this.#observeDrifted],
      [i.liveAccuracy, this.#accuracy],
      [i.liveMae, this.#mae],
      [i.liveRmse, this.#rmse],
      [i.labelledShare, this.#share],
      [i.pending, this.#pending],
    ];
  }

  #register(): Instruments {
    const i = instruments();
    if (this.#registered !== i) {
      this.close();
      for (const [g, cb] of this.#pairs(i)) g.addCallback(cb);
      this.#registered = i;
    }
    return i;
  }

  #with(key: string, value: string): Attributes {
    const k = `${key}\u0000${value}`;
    let attrs = this.#outcomes.get(k);
    if (attrs === undefined) {
      attrs = { ...this.#base, [key]: value };
      this.#outcomes.set(k, attrs);
    }
    return attrs;
  }

  /** Rows read into the sketches (`sampled`) or dropped because the queue was full. */
  samples(outcome: 'sampled' | 'dropped', rows: number): void {
    this.#register().samples.add(rows, this.#with(MONITORING_ATTR.outcome, outcome));
  }

  /** A feedback call this version answered. */
  feedback(outcome: 'joined' | 'duplicate' | 'expired' | 'invalid'): void {
    this.#register().feedback.add(1, this.#with(MONITORING_ATTR.outcome, outcome));
  }

  /** A labelled classification. */
  confusion(actual: number, predicted: number): void {
    this.#register().confusion.add(1, {
      ...this.#base,
      [MONITORING_ATTR.actual]: String(actual),
      [MONITORING_ATTR.predicted]: String(predicted),
    });
  }

  /** Predictions left the join window unlabelled. */
  evicted(reason: 'capacity' | 'age', count = 1): void {
    this.#register().evicted.add(count, this.#with(MONITORING_ATTR.reason, reason));
  }

  /** Stops the gauges (the model closed). */
  close(): void {
    if (this.#registered) for (const [g, cb] of this.#pairs(this.#registered)) g.removeCallback(cb);
    this.#registered = undefined;
  }
}
