import { ModelshipError } from '../errors/index.js';
import type { Logger } from '../serving/logger.js';
import type { ModelState } from '../serving/servable.js';
import { DEPLOYMENT_DEFAULTS, type DeploymentConfig } from './deployment-config.js';
import type { DeploymentEmitter } from './deployment-events.js';
import type { ParsedDeploymentOptions } from './deployment-options.js';
import {
  transition,
  type DeploymentCommand,
  type DeploymentState,
  type EmittedEvent,
  type Transition,
} from './deployment-state.js';
import type { ChangeReason, DeploymentStatus } from './deployment-types.js';
import type { EvidenceRecorder } from './evidence-recorder.js';
import { createFleet, type Fleet } from './fleet/fleet.js';
import { judge } from './guardrails.js';
import type { Traffic } from './traffic.js';
import { loadCandidate, type LoadContext } from './version-loading.js';
import { toEntry, type VersionSet } from './version-set.js';
import type { VersionSlot } from './version-slot.js';
import { followRegistry } from './watch.js';

/** What changing a deployment needs from its shell; the request path keeps the state and the canary's count. */
export interface ControlHost {
  readonly name: string;
  readonly opts: ParsedDeploymentOptions;
  readonly config: DeploymentConfig;
  readonly logger: Logger;
  readonly load: LoadContext;
  readonly versions: VersionSet;
  readonly traffic: Traffic<VersionSlot>;
  readonly events: DeploymentEmitter;
  readonly evidence: EvidenceRecorder | undefined;
  readonly now: () => number;
  state(): ModelState;
  status(): DeploymentStatus;
  /** The canary's requests since the progressive step began (the bake counts only with traffic). */
  served(): number;
  resetServed(): void;
}

/**
 * Everything that changes which version serves a running deployment, and when: manual commands, blue-green
 * switches, the guardrails and progressive schedule on a timer, the registry watch, and the timer retiring
 * the version kept for a rollback. Each change goes through the pure state machine (`deployment-state.ts`),
 * then is applied: roles, retirements, routing, events. The request path is not here; it only reads the result.
 */
export class DeploymentControl {
  readonly #host: ControlHost;
  #previousTimer: ReturnType<typeof setTimeout> | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | undefined;
  #unwatch: (() => void) | undefined;
  /** With `fleet`: the shared state in the registry every change goes through. */
  readonly #fleet: Fleet | undefined;
  #evaluating = false;

  constructor(host: ControlHost) {
    this.#host = host;
    this.#fleet = createFleet(
      host,
      (before, state, events) => this.#apply(before, state, events),
      (task) => this.#exclusive(task),
    );
  }

  /** With `fleet`: joins the replicas (applies the shared state, or writes the first one) before serving. */
  join(): Promise<void> {
    return this.#fleet?.sync.join() ?? Promise.resolve();
  }

  /** Arms what runs once the deployment is ready: the evaluation timer and the registry watch. */
  schedule(): void {
    const host = this.#host;
    const opts = host.opts;
    const versions = host.versions;
    const interval = host.config.evaluateEveryMs;
    if (interval !== undefined) {
      host.evidence?.restart(host.now());
      this.#timer = setInterval(() => this.evaluate(), interval);
      (this.#timer as { unref?: () => void }).unref?.();
    }
    this.#fleet?.start();
    if (opts.watch) {
      const intervalMs = typeof opts.watch === 'object' ? opts.watch.intervalMs : undefined;
      this.#unwatch = followRegistry(opts.registry, opts.stable, intervalMs, DEPLOYMENT_DEFAULTS.interval, {
        name: host.name,
        logger: host.logger,
        serving: () => host.state() === 'ready',
        stableVersion: () => versions.stable.version,
        previousVersion: () => versions.previous?.version,
        exclusive: (task) => this.#exclusive(task),
        switchTo: (ref) => this.#switch(ref, 'watch'),
        revert: () => this.#command({ type: 'revert', reason: 'watch' }) ?? Promise.resolve(),
      });
    }
  }

  /** Points traffic at the versions the state names. */
  route(): void {
    const v = this.#host.versions;
    this.#host.traffic.set(v.stable, v.canary, v.state.canary?.weight ?? 0);
  }

  /**
   * Runs `command` through the state machine and applies the outcome: roles, retirements, timers, events. With
   * `fleet` the command is decided on the shared state and written first (a promise; callers are in the chain).
   */
  #command(command: DeploymentCommand): Promise<void> | undefined {
    const host = this.#host;
    if (this.#fleet) return this.#fleet.sync.propose(() => [command]).then(() => undefined);
    const before = host.versions.state;
    const { state, events }: Transition = transition(before, command, host.config.machine, host.now());
    this.#apply(before, state, events);
    return undefined;
  }

  #apply(before: DeploymentState, state: DeploymentState, events: readonly EmittedEvent[]): void {
    const host = this.#host;
    if (state === before) return;
    host.versions.apply(state);
    this.route();
    if (state.progressive?.since !== before.progressive?.since) host.resetServed();
    if (state.previous?.key !== before.previous?.key) this.#keepPrevious();
    for (const e of events) host.events.emit(e.event, e.payload as never);
  }

  /** Arms the timer that retires the version kept for a rollback once `keepPrevious` runs out. */
  #keepPrevious(): void {
    clearTimeout(this.#previousTimer);
    const previous = this.#host.versions.state.previous;
    if (previous === undefined) return;
    const expire = (): void => {
      if (this.#fleet === undefined) return void this.#command({ type: 'expire-previous', key: previous.key });
      // Every replica's timer runs out; the first write retires it, the others find nothing left to do.
      const ref = this.#fleet.sync.pinOf(previous);
      void this.#exclusive(() =>
        (this.#fleet as Fleet).sync.propose((s) =>
          s.previous !== undefined && (this.#fleet as Fleet).sync.pinOf(s.previous) === ref
            ? [{ type: 'expire-previous', key: s.previous.key }]
            : [],
        ),
      ).catch((error: unknown) => this.#fleet?.warn(error));
    };
    this.#previousTimer = setTimeout(expire, Math.max(0, previous.closesAt - this.#host.now()));
    (this.#previousTimer as { unref?: () => void }).unref?.();
  }

  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(task);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  // ---- blue-green ----------------------------------------------------------------------------------------

  /** Switches to `ref` after every change queued before it; resolves with the status right after. */
  switchTo(ref: string): Promise<DeploymentStatus> {
    return this.#exclusive(async () => {
      await this.#switch(ref, 'manual');
      return this.#host.status();
    });
  }

  async #switch(ref: string, reason: ChangeReason): Promise<void> {
    const host = this.#host;
    this.#assertOpen();
    const outcome = await loadCandidate(
      ref,
      host.load,
      () => host.versions.stable,
      host.opts.validate,
      () => this.#assertOpen(),
    );
    if (outcome.refused) {
      host.events.emit('refused', {
        ref,
        ...(outcome.version === undefined ? {} : { version: outcome.version }),
        reason,
        error: outcome.refused,
      });
      throw outcome.refused;
    }
    if (outcome.slot === undefined) return;
    const slot = outcome.slot;
    if (this.#fleet) {
      const sync = this.#fleet.sync;
      const to = toEntry(slot);
      // Decided on the shared state: when another replica already switched to this version there is nothing to do.
      await sync
        .propose((s) => (sync.pinOf(s.stable) === sync.pinOf(to) ? [] : [{ type: 'switch', to, reason }]), slot)
        .finally(() => {
          if (!host.versions.all().includes(slot)) void slot.retire();
        });
      return;
    }
    // The switch itself is synchronous: a request routed before it runs on the old version, after it on the new.
    host.versions.add(slot);
    this.#command({ type: 'switch', to: toEntry(slot), reason });
  }

  /** A change asked for by hand: NOT_READY thrown at once when closed, a refused command as a rejection. */
  manual(command: DeploymentCommand): Promise<DeploymentStatus> {
    this.#assertOpen();
    if (this.#fleet) return this.#exclusive(async () => (await this.#command(command), this.#host.status()));
    try {
      this.#command(command);
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve(this.#host.status());
  }

  // ---- guardrails and progressive delivery ---------------------------------------------------------------

  /** Judges the versions' windows and the progressive schedule, applies what that decides, samples evidence. */
  evaluate(): void {
    const host = this.#host;
    if (host.state() !== 'ready') return;
    const now = host.now();
    const v = host.versions;
    const shadow = v.shadow && toEntry(v.shadow);
    if (this.#fleet) {
      if (!this.#evaluating) {
        this.#evaluating = true;
        this.#fleet.evaluate(shadow, now).finally(() => (this.#evaluating = false));
      }
      host.evidence?.tick(now);
      return;
    }
    for (const command of judge(v.state, shadow, v.statsOf, host.served(), host.config.guardrails, now)) {
      // The window a breach was read from starts over, so the next judgement sees only what came after the action.
      if (command.type === 'breach')
        v.all()
          .find((s) => s.key === command.finding.key)
          ?.window.reset();
      this.#command(command);
    }
    host.evidence?.tick(now);
  }

  // ---- close ---------------------------------------------------------------------------------------------

  #assertOpen(): void {
    const state = this.#host.state();
    if (state !== 'ready') throw new ModelshipError('NOT_READY', `Deployment ${this.#host.name} is ${state}.`);
  }

  /** Stops the evaluation timer and the watch, synchronously, so no new change starts. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#unwatch?.();
    this.#fleet?.stop();
  }

  /** Waits for the changes under way, closes the evidence, then drops the timer retiring the previous version. */
  async settle(): Promise<void> {
    await this.#chain;
    // The last sample covers the time since the previous one; then every run ends FINISHED.
    await this.#host.evidence?.close();
    clearTimeout(this.#previousTimer);
  }
}
