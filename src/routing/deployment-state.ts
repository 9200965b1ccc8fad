import { ModelshipError } from '../errors/index.js';
import type { GuardrailBreach, WindowStats } from './policy/index.js';
import type { ChangeReason, DeploymentEvent, DeploymentEvents } from './deployment-types.js';

/**
 * A loaded version as the state names it. `key` tells apart two loads of the same version (stable and a shadow
 * of it, or the same reference loaded again); the shell maps keys to the loaded models.
 */
export interface VersionEntry {
  readonly key: string;
  readonly version: string;
  readonly ref: string;
}

/** What a deployment serves and why, as one plain serialisable object (no models, no timers, no functions). */
export interface DeploymentState {
  /** Bumped by every change: the etag a shared store compares and sets on. */
  readonly revision: number;
  readonly stable: VersionEntry;
  readonly canary?: VersionEntry & { readonly weight: number };
  /** The progressive schedule's position; `halted` once a rollback or a manual weight took over. */
  readonly progressive?: { readonly step: number; readonly since: number; readonly halted: boolean };
  /** The version replaced last, kept warm for an instant rollback until `closesAt` (clock ms). */
  readonly previous?: VersionEntry & { readonly closesAt: number };
  /** Until when (clock ms) guardrail actions are paused after the last one. */
  readonly coolDownUntil?: number;
  /** The last change: which command, why, when (clock ms). */
  readonly lastChange?: {
    readonly kind: DeploymentCommand['type'];
    readonly reason: ChangeReason;
    readonly at: number;
  };
}

/** The fixed settings transitions read (parsed once from the deployment's options). */
export interface MachineConfig {
  /** The deployment's name, for error messages. */
  readonly name: string;
  /** How long a replaced version stays as `previous`; 0 retires it at once. */
  readonly keepPreviousMs: number;
  /** After a guardrail action, no other for this long. */
  readonly coolDownMs: number;
  /** The progressive schedule's weights, when there is one. */
  readonly steps?: readonly number[];
  /** How long each progressive step bakes. */
  readonly bakeMs: number;
  /** Canary requests a step needs before it may advance (guardrails' `minRequests`, or 0). */
  readonly minRequests: number;
}

/** A guardrail a version crossed, as the evaluation found it. */
export interface GuardrailFinding {
  /** The key of the version found breaching (its window is reset once acted on). */
  readonly key: string;
  readonly version: string;
  readonly role: 'canary' | 'stable' | 'shadow';
  readonly breach: GuardrailBreach;
  readonly action: 'rollback' | 'alert';
  /** The window the breach was read from (before it is reset). */
  readonly stats: WindowStats;
}

/** What can happen to a deployment. */
export type DeploymentCommand =
  | { readonly type: 'switch'; readonly to: VersionEntry; readonly reason: ChangeReason }
  | { readonly type: 'promote'; readonly reason: ChangeReason }
  /** The canary's weight to 0 when it takes traffic, else back to the previous version (NOTHING_TO_ROLL_BACK otherwise). */
  | { readonly type: 'rollback'; readonly reason: ChangeReason }
  | { readonly type: 'rollback-canary'; readonly reason: ChangeReason }
  | { readonly type: 'revert'; readonly reason: ChangeReason }
  | { readonly type: 'set-weight'; readonly weight: number }
  /** One progressive step, if the bake is over; `served` counts the canary's requests since the step began. */
  | { readonly type: 'advance'; readonly served: number }
  | { readonly type: 'breach'; readonly finding: GuardrailFinding }
  /** The keep-previous timer of the version under `key` ran out. */
  | { readonly type: 'expire-previous'; readonly key: string };

/** One event to emit, with its payload. */
export type EmittedEvent = {
  [E in DeploymentEvent]: { readonly event: E; readonly payload: DeploymentEvents[E] };
}[DeploymentEvent];

/** The outcome of a command: the new state (the same object when nothing changed) and the events to emit, in order. */
export interface Transition {
  readonly state: DeploymentState;
  readonly events: readonly EmittedEvent[];
}

const NONE: readonly EmittedEvent[] = [];

/**
 * The state a deployment starts in: `stable`, and a canary at the first progressive step (or `weight`).
 *
 * @example
 * ```ts
 * const state = initialState({ key: 'a', version: '1', ref: 'mnist/1' }, { key: 'b', version: '2', ref: 'mnist/2' }, 0.1, config, clock());
 * ```
 */
export function initialState(
  stable: VersionEntry,
  canary: VersionEntry | undefined,
  weight: number,
  config: MachineConfig,
  now: number,
): DeploymentState {
  if (canary === undefined) return { revision: 0, stable };
  const first = config.steps?.[0];
  return {
    revision: 0,
    stable,
    canary: { ...canary, weight: first ?? weight },
    ...(config.steps ? { progressive: { step: 0, since: now, halted: false } } : {}),
  };
}

function change(
  state: DeploymentState,
  patch: Partial<DeploymentState>,
  kind: DeploymentCommand['type'],
  reason: ChangeReason,
  now: number,
): DeploymentState {
  return { ...state, ...patch, revision: state.revision + 1, lastChange: { kind, reason, at: now } };
}

function entry(v: VersionEntry): VersionEntry {
  return { key: v.key, version: v.version, ref: v.ref };
}

/** `old` as the version kept warm for a rollback, or nothing when `keepPrevious` is 0. */
function keep(old: VersionEntry, config: MachineConfig, now: number): DeploymentState['previous'] {
  return config.keepPreviousMs <= 0 ? undefined : { ...entry(old), closesAt: now + config.keepPreviousMs };
}

function rollbackCanary(state: DeploymentState, reason: ChangeReason, now: number): Transition {
  const canary = state.canary as NonNullable<DeploymentState['canary']>;
  const patch: Partial<DeploymentState> = {
    canary: { ...canary, weight: 0 },
    ...(state.progressive ? { progressive: { ...state.progressive, halted: true } } : {}),
  };
  return {
    state: change(state, patch, 'rollback-canary', reason, now),
    events: [
      { event: 'rollback', payload: { kind: 'canary', from: canary.version, to: state.stable.version, reason } },
    ],
  };
}

/** Back to the previous version; nothing happens without one. */
function revert(state: DeploymentState, reason: ChangeReason, now: number): Transition {
  const previous = state.previous;
  if (previous === undefined) return { state, events: NONE };
  const next = change(state, { stable: entry(previous), previous: undefined }, 'revert', reason, now);
  return {
    state: next,
    events: [
      { event: 'rollback', payload: { kind: 'switch', from: state.stable.version, to: previous.version, reason } },
    ],
  };
}

function promote(state: DeploymentState, reason: ChangeReason, config: MachineConfig, now: number): Transition {
  const canary = state.canary;
  if (canary === undefined)
    throw new ModelshipError('INVALID_ARGUMENT', `Deployment ${config.name} has no canary to promote.`);
  const next = change(
    state,
    { stable: entry(canary), canary: undefined, progressive: undefined, previous: keep(state.stable, config, now) },
    'promote',
    reason,
    now,
  );
  return {
    state: next,
    events: [{ event: 'promote', payload: { version: canary.version, weight: 1, final: true, reason } }],
  };
}

function advance(state: DeploymentState, served: number, config: MachineConfig, now: number): Transition {
  const p = state.progressive;
  const canary = state.canary;
  const steps = config.steps;
  if (p === undefined || p.halted || canary === undefined || steps === undefined || canary.weight <= 0)
    return { state, events: NONE };
  // A bake only counts with traffic: an idle canary proves nothing.
  if (now - p.since < config.bakeMs || served < config.minRequests || now < (state.coolDownUntil ?? -Infinity))
    return { state, events: NONE };
  const step = p.step + 1;
  if (step >= steps.length || (steps[step] as number) >= 1) return promote(state, 'progressive', config, now);
  const weight = steps[step] as number;
  const next = change(
    state,
    { canary: { ...canary, weight }, progressive: { step, since: now, halted: false } },
    'advance',
    'progressive',
    now,
  );
  return {
    state: next,
    events: [{ event: 'promote', payload: { version: canary.version, weight, final: false, reason: 'progressive' } }],
  };
}

/**
 * Applies `command` to `state` at clock time `now`. Pure: no I/O, no timers, no models; the caller loads
 * versions, keeps the windows, runs the timers and emits the events. Throws ModelshipError (INVALID_ARGUMENT,
 * NOTHING_TO_ROLL_BACK) for a command the state cannot take.
 *
 * @example
 * ```ts
 * const { state: next, events } = transition(state, { type: 'promote', reason: 'manual' }, config, clock());
 * ```
 */
export function transition(
  state: DeploymentState,
  command: DeploymentCommand,
  config: MachineConfig,
  now: number,
): Transition {
  switch (command.type) {
    case 'switch': {
      const next = change(
        state,
        { stable: entry(command.to), previous: keep(state.stable, config, now) },
        'switch',
        command.reason,
        now,
      );
      return {
        state: next,
        events: [
          { event: 'switch', payload: { from: state.stable.version, to: command.to.version, reason: command.reason } },
        ],
      };
    }
    case 'promote':
      return promote(state, command.reason, config, now);
    case 'rollback':
      if (state.canary !== undefined && state.canary.weight > 0) return rollbackCanary(state, command.reason, now);
      if (state.previous !== undefined) return revert(state, command.reason, now);
      throw new ModelshipError(
        'NOTHING_TO_ROLL_BACK',
        `Deployment ${config.name} has no canary taking traffic and no previous version kept warm (keepPrevious).`,
      );
    case 'rollback-canary':
      return state.canary === undefined ? { state, events: NONE } : rollbackCanary(state, command.reason, now);
    case 'revert':
      return revert(state, command.reason, now);
    case 'set-weight': {
      const { canary, progressive } = state;
      if (canary === undefined)
        throw new ModelshipError('INVALID_ARGUMENT', `Deployment ${config.name} has no canary to weigh.`);
      const weight: unknown = command.weight;
      if (!(typeof weight === 'number' && weight >= 0 && weight <= 1)) {
        throw new ModelshipError(
          'INVALID_ARGUMENT',
          `The canary weight must be a number from 0 to 1, got ${String(weight)}.`,
        );
      }
      // A weight set by hand takes over from the progressive schedule.
      const patch: Partial<DeploymentState> = {
        canary: { ...canary, weight },
        ...(progressive ? { progressive: { ...progressive, halted: true } } : {}),
      };
      return { state: change(state, patch, 'set-weight', 'manual', now), events: NONE };
    }
    case 'advance':
      return advance(state, command.served, config, now);
    case 'breach': {
      const { version, role, breach, action, stats } = command.finding;
      const next = change(state, { coolDownUntil: now + config.coolDownMs }, 'breach', 'guardrail', now);
      return { state: next, events: [{ event: 'guardrail', payload: { version, role, breach, action, stats } }] };
    }
    case 'expire-previous':
      if (state.previous?.key !== command.key) return { state, events: NONE };
      return { state: change(state, { previous: undefined }, 'expire-previous', 'manual', now), events: NONE };
  }
}
