import type { GuardrailBreach, WindowStats } from './policy/index.js';
import type { ModelshipError } from '../errors/index.js';
import type { RoutedServable } from '../serving/servable.js';
import type { MirrorStats } from './mirror.js';
import type { FeedbackOutcome } from '../monitoring/feedback-window.js';
import type { FeatureDrift } from '../monitoring/drift-window.js';

/** Why a deployment changed what it serves. */
export type ChangeReason = 'manual' | 'watch' | 'guardrail' | 'progressive' | 'admin';

/** Payloads of the events a deployment emits. */
export interface DeploymentEvents {
  /** A new version took over as stable (blue-green). */
  switch: { readonly from: string; readonly to: string; readonly reason: ChangeReason };
  /** Traffic went back: the canary's weight to 0 (`kind: 'canary'`) or stable to the previous version (`kind: 'switch'`). */
  rollback: {
    readonly kind: 'canary' | 'switch';
    readonly from: string;
    readonly to: string;
    readonly reason: ChangeReason;
  };
  /** The canary moved up a progressive step (`final: false`) or became stable (`final: true`). */
  promote: {
    readonly version: string;
    readonly weight: number;
    readonly final: boolean;
    readonly reason: ChangeReason;
  };
  /** A version crossed a guardrail. `action` says what was done about it. */
  guardrail: {
    readonly version: string;
    readonly role: 'canary' | 'stable' | 'shadow';
    readonly breach: GuardrailBreach;
    readonly action: 'rollback' | 'alert';
    readonly stats: WindowStats;
  };
  /**
   * A monitored version compared its live window with its baseline, or the canary's with stable's
   * (`reference: 'stable'`), once per monitoring `interval` (docs/monitoring.md).
   */
  drift: DeploymentDriftEvent;
  /** A candidate version was refused (load, warm-up, signature or validation failed); stable keeps serving. */
  refused: {
    readonly ref: string;
    readonly version?: string;
    readonly reason: ChangeReason;
    readonly error: ModelshipError;
  };
}

/** A deployment's `drift` event: one comparison of a version's live window with its reference. */
export interface DeploymentDriftEvent {
  readonly version: string;
  readonly role: 'stable' | 'canary';
  /** `baseline`: the version's window against its training baseline; `stable`: the canary's against stable's. */
  readonly reference: 'baseline' | 'stable';
  /** Live rows compared. */
  readonly rows: number;
  readonly drifted: number;
  readonly total: number;
  /** drifted / total: what the `maxDrift` guardrail reads (for `reference: 'baseline'`). */
  readonly share: number;
  /** The most drifted features, with their scores. */
  readonly top: readonly FeatureDrift[];
}

/** A deployment event name. */
export type DeploymentEvent = keyof DeploymentEvents;

/** One version as `status()` shows it. */
export interface VersionStatus {
  readonly version: string;
  readonly ref: string;
  readonly state: string;
  readonly stats: WindowStats;
}

/** What `status()` returns (and `GET /admin/deployments/{name}`). */
export interface DeploymentStatus {
  readonly name: string;
  readonly state: string;
  readonly stable: VersionStatus;
  readonly canary?: VersionStatus & { readonly weight: number };
  readonly shadow?: VersionStatus & { readonly mirror: MirrorStats };
  readonly previous?: VersionStatus & { readonly closesAt: number };
  readonly progressive?: {
    readonly step: number;
    readonly weight: number;
    readonly since: number;
    readonly halted: boolean;
  };
  /** Until when (clock ms) guardrail actions are paused after the last one. */
  readonly coolDownUntil?: number;
}

/**
 * A set of versions served under one name: stable, an optional weighted canary, an optional shadow, with
 * blue-green switches, rollbacks and guardrails. Served by `createHandler` like a model.
 */
export interface Deployment extends RoutedServable, AsyncDisposable {
  /** Marks a deployment for the HTTP admin routes. */
  readonly kind: 'deployment';
  /** Blue-green: load `ref`, check its signature, validate, warm, switch atomically, keep the old one warm for `keepPrevious`. */
  switchTo(ref: string): Promise<DeploymentStatus>;
  /**
   * The reference `switchTo` takes for a version or alias of this deployment's own model in its own registry
   * (`"5"`, `"mnist/5"`, `"mnist@candidate"` for a deployment of `mnist@production`); INVALID_REF for anything
   * else (paths, URLs, other models, non-strings), or when stable is a file or a remote endpoint. The admin
   * route's `switch` goes through it; `switchTo` itself takes any reference the application gives it.
   */
  ownVersionRef(selector: unknown): string;
  /** Canary weight to 0 when a canary takes traffic, else back to the previous version. NOTHING_TO_ROLL_BACK otherwise. */
  rollback(): Promise<DeploymentStatus>;
  /** The canary becomes stable (the old stable is kept warm for `keepPrevious`). */
  promote(): Promise<DeploymentStatus>;
  /** Sets the canary's share of traffic (0–1). */
  setWeight(weight: number): Promise<DeploymentStatus>;
  /** Roles, weights, versions and their windowed stats now (what `GET /admin/deployments/{name}` answers). */
  status(): DeploymentStatus;
  /** Runs one guardrail and progressive evaluation now (the timer does this every `guardrails.interval`). */
  evaluate(): void;
  /** Joins a true label to the answer of whichever version made it (`model.feedback`; versions need `monitoring`). */
  feedback(requestId: string, label: number): FeedbackOutcome;
  /** Subscribes to an event (`change`, `breach`, …); returns the function that unsubscribes. */
  on<E extends DeploymentEvent>(event: E, listener: (payload: DeploymentEvents[E]) => void): () => void;
}
