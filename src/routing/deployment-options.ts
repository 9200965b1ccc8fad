import { z } from 'zod';
import { parseOptions } from '../core/options.js';
import type { AgreementRule } from './policy/index.js';
import type { Logger } from '../serving/logger.js';
import type { RegistryAdapter } from '../spec/registry.js';
import type { TrackingClient } from '../spec/tracking.js';
import { remoteEndpointSchemas } from '../backends/remote/remote-options.js';

const duration = z.union([
  z.number().nonnegative(),
  z.string().regex(/^\s*\d+(\.\d+)?\s*(ms|s|m|h)\s*$/, 'a duration such as "500ms", "60s", "5m" or "1h"'),
]);
const ratio = z.number().min(0).max(1);

/** A version: a registry reference (`mnist@production`, `mnist/5`, a path), a remote v2 endpoint or a SageMaker endpoint. */
export const versionRefSchema = z.union([z.string().min(1), ...remoteEndpointSchemas]);

const agreementRule = z.union([
  z.enum(['argmax', 'exact']),
  z.strictObject({ abs: z.number().nonnegative().optional(), rel: z.number().nonnegative().optional() }),
  z.custom<(a: never, b: never) => boolean>(
    (v) => typeof v === 'function',
    'compare must be "argmax", "exact", { abs, rel } or a function',
  ),
]);

/** Options for `createDeployment`. */
export const deploymentOptionsSchema = z.strictObject({
  /** The name the deployment is served under (`/models/{name}/predict`). */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'name must be letters, digits, ".", "_" or "-"'),
  /** Where references are resolved; required for `watch`. */
  registry: z
    .custom<RegistryAdapter>(
      (v) => typeof v === 'object' && v !== null && typeof (v as RegistryAdapter).resolve === 'function',
      'registry must implement resolve()',
    )
    .optional(),
  /** The version answering callers (`mnist@production`). */
  stable: versionRefSchema,
  /** A version taking `weight` (0–1) of the traffic, sticky by routing key. */
  canary: z.strictObject({ ref: versionRefSchema, weight: ratio }).optional(),
  /** A version receiving a sampled copy of the traffic after the primary answered; it never answers callers. */
  shadow: z
    .strictObject({
      ref: versionRefSchema,
      /** Share of requests mirrored (default 1). */
      sampleRate: ratio.optional(),
      /** How answers are compared (default `argmax`). */
      compare: agreementRule.optional(),
      /** Mirrored requests waiting at most; more are dropped and counted (default 64). */
      queueSize: z.number().int().positive().optional(),
      /** Mirrored requests running at once (default 1). */
      concurrency: z.number().int().positive().optional(),
      /** Deadline of a mirrored request in ms (default 10 000). */
      timeoutMs: z.number().int().positive().optional(),
    })
    .optional(),
  /** Limits over a sliding window per version; a breach with `action: 'rollback'` takes the version out of service. */
  guardrails: z
    .strictObject({
      /** Span of the sliding window (default `'60s'`). */
      window: duration.optional(),
      /** Requests in the window before a version is judged (default 100). */
      minRequests: z.number().int().positive().optional(),
      maxErrorRate: ratio.optional(),
      maxLatencyP99Ratio: z.number().positive().optional(),
      /** Smallest share of agreeing answers: a shadow against the primary, a canary against stable. */
      minShadowAgreement: ratio.optional(),
      /**
       * Smallest live accuracy from labels (`deployment.feedback`) over the last labelled answers of a version
       * loaded with `monitoring`; judged once it has `minRequests` labels (docs/monitoring.md).
       */
      minLiveAccuracy: ratio.optional(),
      /** Largest share of features drifted (0–1) in a version's last drift comparison with its baseline. */
      maxDrift: ratio.optional(),
      /** `rollback` (default) sets the canary weight to 0 or reverts the last switch; `alert` only emits the event. */
      action: z.enum(['rollback', 'alert']).optional(),
      /** How often the window is evaluated (default `'5s'`); a breach is acted on within one interval. */
      interval: duration.optional(),
      /** After an action, no other action for this long (default: the window). */
      coolDown: duration.optional(),
      /** Share of canary answers also sent to stable to measure agreement, when `minShadowAgreement` is set (default 1). */
      compareSampleRate: ratio.optional(),
    })
    .optional(),
  /** Raises the canary weight step by step, each after a `bake` without a breach; the last step promotes it. */
  progressive: z
    .strictObject({
      steps: z
        .array(z.number().gt(0).max(1))
        .min(1)
        .refine((s) => s.every((w, i) => i === 0 || w > (s[i - 1] as number)), 'steps must increase'),
      bake: duration,
    })
    .optional(),
  /** Follow the registry: the stable reference moving to another version triggers a blue-green switch. */
  watch: z.union([z.boolean(), z.strictObject({ intervalMs: z.number().int().positive().optional() })]).optional(),
  /**
   * Share the routing state with the other replicas through the registry (it must offer `sharedState`: the local,
   * MLflow or SageMaker registry): every change is written once with compare-and-set, and each replica reads it every
   * `intervalMs` (default 2000) and applies it. `replica` names this process in the shared state.
   */
  fleet: z
    .union([
      z.boolean(),
      z.strictObject({
        intervalMs: z.number().int().positive().optional(),
        replica: z.string().min(1).max(128).optional(),
      }),
    ])
    .optional(),
  /** Checks a new version must pass before it takes over (`switchTo`, `watch`). */
  validate: z
    .strictObject({
      /** Sample inputs, as `predict` takes them. */
      inputs: z.unknown(),
      /** Expected label per row. */
      expect: z.array(z.number()).optional(),
      /** Output holding the prediction (default: the first output; rank ≥ 2 outputs are arg-maxed per row). */
      output: z.string().optional(),
      minAccuracy: ratio.optional(),
      /** Largest accuracy drop allowed against the serving version on the same sample. */
      maxAccuracyDrop: ratio.optional(),
      /** Largest ratio of the new version's median latency on the sample to the serving one's. */
      maxLatencyRatio: z.number().positive().optional(),
    })
    .optional(),
  /**
   * Production evidence: every `interval` (default `'60s'`), one point per version (requests, errors, error
   * rate, p50/p99 latency, shadow agreement, weight) in one run per version under the experiment `experiment`
   * (default: the deployment's name), with switches, promotions, rollbacks and guardrail breaches as tags.
   * Read from the guardrail windows, so it adds nothing to a request; the tracker is yours to close.
   */
  tracking: z
    .strictObject({
      tracker: z.custom<TrackingClient>(
        (v) => typeof v === 'object' && v !== null && typeof (v as TrackingClient).startRun === 'function',
        'tracking.tracker must be a TrackingClient (createLocalTracker, createMlflowTracker, createWandbTracker…)',
      ),
      interval: duration.optional(),
      experiment: z.string().min(1).optional(),
      /** How long `close()` waits for the tracker to take the last points and end the runs, in ms (default 10 000). */
      closeTimeoutMs: z.number().int().positive().optional(),
    })
    .optional(),
  /** How long the replaced version stays loaded for an instant `rollback()` (default `'10m'`). */
  keepPrevious: duration.optional(),
  /** Options passed to the loader for every version (`workers`, `batching`, `warmup`…). */
  modelOptions: z.record(z.string(), z.unknown()).optional(),
  logger: z
    .custom<Logger>(
      (v) => typeof v === 'object' && v !== null && typeof (v as Logger).warn === 'function',
      'logger must be console-like',
    )
    .optional(),
  /** Clock for windows, bakes and cool-downs, in ms (default `Date.now`); tests drive it. */
  clock: z.custom<() => number>((v) => typeof v === 'function', 'clock must be a function returning ms').optional(),
  /** Random source in [0, 1) for splits without a routing key and for sampling (default `Math.random`). */
  random: z
    .custom<() => number>((v) => typeof v === 'function', 'random must be a function returning [0, 1)')
    .optional(),
});

/** Options for `createDeployment`. */
export type DeploymentOptions = z.input<typeof deploymentOptionsSchema>;
/** Parsed options. */
export type ParsedDeploymentOptions = z.output<typeof deploymentOptionsSchema> & {
  shadow?: { compare?: AgreementRule };
};
/** A version reference. */
export type VersionRef = z.input<typeof versionRefSchema>;

/** Parses options, turning zod's report into an INVALID_OPTIONS error. */
export function parseDeploymentOptions(options: unknown): ParsedDeploymentOptions {
  return parseOptions(deploymentOptionsSchema, options, 'createDeployment') as ParsedDeploymentOptions;
}
