export {
  BASELINE_FORMAT,
  binOf,
  createBaseline,
  type Baseline,
  type BaselineSample,
  type CategoricalFeatureBaseline,
  type CreateBaselineOptions,
  type NumericFeatureBaseline,
} from './baseline.js';
export { parseBaseline } from './baseline-schema.js';
export { chiSquarePValue, jensenShannon, ksPValue, ksStatistic, psi } from './drift-metrics.js';
export { DEFAULT_THRESHOLDS, type DriftReport, type DriftThresholds, type FeatureDrift } from './drift-window.js';
export type { FeatureSource } from './features.js';
export type { FeedbackOutcome } from './feedback-window.js';
export type { LiveAccuracyStats } from './live-accuracy.js';
export { ModelMonitor, monitorOf, type MonitoringReport } from './model-monitor.js';
export { monitoringOptionsSchema, type MonitoringOptions } from './monitoring-options.js';
export { feedbackTo, watchPrediction, type Monitored } from './monitored.js';
