import { parseDuration } from '../core/duration.js';
import type { ParsedDeploymentOptions } from './deployment-options.js';
import type { MachineConfig } from './deployment-state.js';
import type { GuardrailPolicy } from './guardrails.js';

/** Defaults of the deployment options, in ms where they are durations. */
export const DEPLOYMENT_DEFAULTS = {
  window: 60_000,
  minRequests: 100,
  interval: 5_000,
  keepPrevious: 600_000,
  trackInterval: 60_000,
};

/** The options a deployment runs on, parsed once: durations in ms, limits with their defaults. */
export interface DeploymentConfig {
  readonly windowMs: number;
  readonly machine: MachineConfig;
  readonly guardrails: GuardrailPolicy;
  /** How often production evidence is sampled (with `tracking`). */
  readonly trackIntervalMs: number;
  /** How often `evaluate` runs: guardrails and the progressive schedule, and evidence; undefined when none is on. */
  readonly evaluateEveryMs: number | undefined;
}

/** Reads the durations and limits out of parsed options (INVALID_OPTIONS for a duration that is not one). */
export function deploymentConfig(opts: ParsedDeploymentOptions): DeploymentConfig {
  const g = opts.guardrails;
  const windowMs = g?.window === undefined ? DEPLOYMENT_DEFAULTS.window : parseDuration(g.window, 'guardrails.window');
  const coolDownMs = g?.coolDown === undefined ? windowMs : parseDuration(g.coolDown, 'guardrails.coolDown');
  const keepPreviousMs =
    opts.keepPrevious === undefined
      ? DEPLOYMENT_DEFAULTS.keepPrevious
      : parseDuration(opts.keepPrevious, 'keepPrevious');
  const limits = g && {
    minRequests: g.minRequests ?? DEPLOYMENT_DEFAULTS.minRequests,
    ...(g.maxErrorRate === undefined ? {} : { maxErrorRate: g.maxErrorRate }),
    ...(g.maxLatencyP99Ratio === undefined ? {} : { maxLatencyP99Ratio: g.maxLatencyP99Ratio }),
    ...(g.minShadowAgreement === undefined ? {} : { minShadowAgreement: g.minShadowAgreement }),
    ...(g.minLiveAccuracy === undefined ? {} : { minLiveAccuracy: g.minLiveAccuracy }),
    ...(g.maxDrift === undefined ? {} : { maxDrift: g.maxDrift }),
  };
  const trackIntervalMs =
    opts.tracking?.interval === undefined
      ? DEPLOYMENT_DEFAULTS.trackInterval
      : parseDuration(opts.tracking.interval, 'tracking.interval');
  return {
    windowMs,
    machine: {
      name: opts.name,
      keepPreviousMs,
      coolDownMs,
      ...(opts.progressive ? { steps: opts.progressive.steps } : {}),
      bakeMs: parseDuration(opts.progressive?.bake ?? 0, 'progressive.bake'),
      minRequests: limits?.minRequests ?? 0,
    },
    guardrails: { limits, action: g?.action ?? 'rollback' },
    trackIntervalMs,
    evaluateEveryMs: evaluateEvery(opts, trackIntervalMs),
  };
}

/** The evaluation timer's period: the guardrail interval, or the evidence interval when that is shorter (or alone). */
function evaluateEvery(opts: ParsedDeploymentOptions, trackIntervalMs: number): number | undefined {
  const evidenceMs = opts.tracking ? Math.max(1, trackIntervalMs) : undefined;
  if (!opts.guardrails && !opts.progressive) return evidenceMs;
  const g = opts.guardrails;
  const guard =
    g?.interval === undefined ? DEPLOYMENT_DEFAULTS.interval : parseDuration(g.interval, 'guardrails.interval');
  return Math.max(1, Math.min(guard, evidenceMs ?? Infinity));
}
