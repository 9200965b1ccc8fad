import type { WindowStats } from './sliding-window.js';

/** Thresholds a version must stay within; absent ones are not checked. */
export interface GuardrailLimits {
  /** Fewer requests (or comparisons, for agreement) than this in the window: too little evidence to judge. */
  readonly minRequests: number;
  readonly maxErrorRate?: number;
  /** Largest allowed ratio of the version's p99 latency to the baseline's. */
  readonly maxLatencyP99Ratio?: number;
  readonly minShadowAgreement?: number;
}

/** A threshold a version crossed. */
export interface GuardrailBreach {
  readonly rule: 'error-rate' | 'latency-p99-ratio' | 'agreement';
  readonly value: number;
  readonly threshold: number;
}

/**
 * The first limit `target` breaches over its window, judged against `baseline` (the stable version) for the
 * latency ratio; undefined when within limits or when there is too little evidence.
 */
export function checkGuardrails(
  target: WindowStats,
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
  return undefined;
}
