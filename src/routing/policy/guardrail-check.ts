import type { WindowStats } from './sliding-window.js';

/** Thresholds a version must stay within; absent ones are not checked. */
export interface GuardrailLimits {
  /** Fewer requests (or comparisons, for agreement) than this in the window: too little evidence to judge. */
  readonly minRequests: number;
  readonly maxErrorRate?: number;
  /** Largest allowed ratio of the version's p99 latency to the baseline's. */
  readonly maxLatencyP99Ratio?: number;
  readonly minShadowAgreement?: number;
  /** Smallest live accuracy over the version's labelled answers (needs `minRequests` labels). */
  readonly minLiveAccuracy?: number;
  /** Largest share of features drifted in the version's last drift comparison. */
  readonly maxDrift?: number;
}

/** What monitoring adds to a version's window (absent for versions loaded without `monitoring`). */
export interface MonitoredStats {
  /** Live accuracy over the last labels, and how many labels that is. */
  readonly liveAccuracy?: number | undefined;
  readonly labelled?: number;
  /** Share of features drifted in the last comparison with the baseline. */
  readonly driftShare?: number | undefined;
}

/** A threshold a version crossed. */
export interface GuardrailBreach {
  readonly rule: 'error-rate' | 'latency-p99-ratio' | 'agreement' | 'live-accuracy' | 'drift';
  readonly value: number;
  readonly threshold: number;
}

/**
 * The first limit `target` breaches over its window, judged against `baseline` (the stable version) for the
 * latency ratio; undefined when within limits or when there is too little evidence.
 */
export function checkGuardrails(
  target: WindowStats & MonitoredStats,
  baseline: WindowStats | undefined,
  limits: GuardrailLimits,
): GuardrailBreach | undefined {
  const enough = target.requests >= limits.minRequests;
  if (enough && limits.maxErrorRate !== undefined && target.errorRate > limits.maxErrorRate) {
    return { rule: 'error-rate', value: target.errorRate, threshold: limits.maxErrorRate };
  }
  if (
    enough &&
    limits.maxLatencyP99Ratio !== undefined &&
    baseline !== undefined &&
    baseline.requests >= limits.minRequests &&
    target.p99Ms !== undefined &&
    baseline.p99Ms !== undefined
  ) {
    // A floor of 1 µs keeps a baseline measured at 0 (coarse timers) from making every ratio infinite.
    const ratio = target.p99Ms / Math.max(baseline.p99Ms, 0.001);
    if (ratio > limits.maxLatencyP99Ratio)
      return { rule: 'latency-p99-ratio', value: ratio, threshold: limits.maxLatencyP99Ratio };
  }
  if (
    limits.minShadowAgreement !== undefined &&
    target.agreement !== undefined &&
    target.compared >= limits.minRequests &&
    target.agreement < limits.minShadowAgreement
  ) {
    return { rule: 'agreement', value: target.agreement, threshold: limits.minShadowAgreement };
  }
  const { liveAccuracy, driftShare } = target;
  if (
    limits.minLiveAccuracy !== undefined &&
    liveAccuracy !== undefined &&
    (target.labelled ?? 0) >= limits.minRequests &&
    liveAccuracy < limits.minLiveAccuracy
  ) {
    return { rule: 'live-accuracy', value: liveAccuracy, threshold: limits.minLiveAccuracy };
  }
  if (limits.maxDrift !== undefined && driftShare !== undefined && driftShare > limits.maxDrift) {
    return { rule: 'drift', value: driftShare, threshold: limits.maxDrift };
  }
  return undefined;
}
