/**
 * Metric and attribute names of model monitoring (drift against the training baseline, live accuracy from
 * delayed labels). Prometheus shows each name with dots as underscores and counters with `_total`:
 * `modelship.drift.score` is `modelship_drift_score`, `modelship.feedback` is `modelship_feedback_total`.
 * docs/monitoring.md has the table with every attribute; alert rules and dashboards depend on these names, so
 * they are part of the public contract.
 */
export const MONITORING_METRICS = {
  /**
   * Gauge, unit `1`: one drift score per feature and metric (`feature`, `metric`, `reference`, `model.name`,
   * `model.version`). `metric` is `psi`, `ks` (the KS statistic D, 0–1), `js` (Jensen–Shannon distance, base 2,
   * 0–1) or `chi2_pvalue` (0–1, LOW means drift). Higher is more drift for all but `chi2_pvalue`.
   */
  driftScore: 'modelship.drift.score',
  /** Gauge, unit `{feature}`: features whose drift is over the threshold in the last interval (`reference` too). */
  featuresDrifted: 'modelship.drift.features_drifted',
  /** Counter, unit `{row}`: rows taken into the drift sketches (`outcome`: `sampled` or `dropped` when the queue was full). */
  driftSamples: 'modelship.drift.samples',
  /** Gauge, unit `1`: share of correct answers over the last `accuracyWindow` labelled predictions (classification). */
  liveAccuracy: 'modelship.live.accuracy',
  /** Gauge, unit `1` (the output's unit): mean absolute error over the last labelled predictions (regression). */
  liveMae: 'modelship.live.mae',
  /** Gauge: root mean squared error over the last labelled predictions (regression). */
  liveRmse: 'modelship.live.rmse',
  /** Gauge, unit `1`: share of recorded predictions that received a label (since the model was loaded). */
  labelledShare: 'modelship.live.labelled_share',
  /** Counter, unit `{prediction}`: labelled predictions by `label.actual` and `label.predicted` (classification). */
  confusion: 'modelship.live.confusion',
  /**
   * Counter, unit `{label}`: feedback calls by `outcome`: `joined`, `unknown` (no such request id), `expired`
   * (it was evicted or too old), `duplicate` (already labelled), `invalid` (a label of the wrong kind).
   */
  feedback: 'modelship.feedback',
  /** Gauge, unit `{prediction}`: predictions waiting for a label in the join window. */
  feedbackPending: 'modelship.feedback.pending',
  /** Counter, unit `{prediction}`: predictions dropped from the join window unlabelled (`reason`: `capacity`, `age`). */
  feedbackEvicted: 'modelship.feedback.evicted',
} as const;

/** Attribute keys of the monitoring metrics (besides `model.name` and `model.version`). */
export const MONITORING_ATTR = {
  /** The feature a drift score is about: `x[412]`, `x.mean`, `x.std`, `x.proj0`, `probabilities.class`… */
  feature: 'feature',
  /** `psi`, `ks`, `js` or `chi2_pvalue`. */
  metric: 'metric',
  /** What the live data is compared with: `baseline` (the training sample) or `stable` (canary against stable). */
  reference: 'reference',
  outcome: 'outcome',
  reason: 'reason',
  actual: 'label.actual',
  predicted: 'label.predicted',
} as const;

/** The values of `metric`. */
export type DriftMetricName = 'psi' | 'ks' | 'js' | 'chi2_pvalue';
