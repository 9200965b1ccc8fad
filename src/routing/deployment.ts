import type { PredictInput } from '../core/input.js';
import { ModelshipError, toModelshipError } from '../errors/index.js';
import { defaultLogger, type Logger } from '../serving/logger.js';
import type { ModelState, RoutedPredictOptions, VersionedPrediction } from '../serving/servable.js';
import type { ModelSignature } from '../spec/tensor.js';
import { DeploymentTelemetry } from '../telemetry/index.js';
import { countChanges, logChanges } from './change-observers.js';
import { DEPLOYMENT_DEFAULTS, deploymentConfig, type DeploymentConfig } from './deployment-config.js';
import { DeploymentEmitter } from './deployment-events.js';
import { parseDeploymentOptions, type DeploymentOptions, type ParsedDeploymentOptions } from './deployment-options.js';
import { initialState, transition, type DeploymentCommand, type Transition } from './deployment-state.js';
import type {
  ChangeReason,
  Deployment,
  DeploymentEvent,
  DeploymentEvents,
  DeploymentStatus,
} from './deployment-types.js';
import { createEvidenceRecorder, type EvidenceRecorder } from './evidence-recorder.js';
import { judge } from './guardrails.js';
import { Mirror } from './mirror.js';
import { countsAsFailure, SlotAnswer } from './slot-answer.js';
import { Traffic } from './traffic.js';
import { loadCandidate, loadVersions, type DeploymentLoaders, type LoadContext } from './version-loading.js';
import { registrySource, selectorToRef, type RegistrySource } from './version-selector.js';
import { toEntry, VersionSet } from './version-set.js';
import type { VersionSlot } from './version-slot.js';
import { followRegistry } from './watch.js';

/**
 * The shell of a deployment: it loads versions, routes and runs requests, runs the timers, and feeds commands
 * to the pure state machine (`deployment-state.ts`), then applies what it decided: which loaded version has
 * which role, which ones retire, which events go out. Logs, metrics and evidence subscribe to those events.
 */
class RoutedDeployment implements Deployment {
  readonly kind = 'deployment';
  readonly routed = true;
  readonly name: string;
  readonly platform = 'modelship_deployment';
  readonly #opts: ParsedDeploymentOptions;
  readonly #config: DeploymentConfig;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #load: LoadContext;
  readonly #timed: boolean;
  readonly #judgesAgreement: boolean;
  readonly #telemetry: DeploymentTelemetry;
  readonly #source: RegistrySource | undefined;
  readonly #events: DeploymentEmitter;
  readonly #versions = new VersionSet();
  readonly #mirror: Mirror;
  readonly #evidence: EvidenceRecorder | undefined;
  #traffic!: Traffic<VersionSlot>;
  /** The canary's requests since the progressive step began (the bake counts only with traffic). */
  #served = 0;
  #previousTimer: ReturnType<typeof setTimeout> | undefined;
  #state: ModelState = 'warming';
  #chain: Promise<unknown> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | undefined;
  #unwatch: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(opts: ParsedDeploymentOptions, loaders: DeploymentLoaders) {
    this.#opts = opts;
    this.name = opts.name;
    this.#logger = opts.logger ?? defaultLogger;
    this.#source = registrySource(opts.stable);
    this.#now = opts.clock ?? Date.now;
    const config = (this.#config = deploymentConfig(opts));
    this.#timed = config.guardrails.limits !== undefined;
    this.#judgesAgreement = opts.guardrails?.minShadowAgreement !== undefined;
    this.#load = {
      name: this.name,
      loaders,
      modelOptions: opts.modelOptions,
      registry: opts.registry,
      logger: this.#logger,
      windowMs: config.windowMs,
      now: this.#now,
    };
    const versions = this.#versions;
    this.#telemetry = new DeploymentTelemetry(
      this.name,
      () => versions.weights(),
      () => versions.agreements(),
    );
    this.#events = new DeploymentEmitter(this.name, this.#logger);
    logChanges(this.#events, this.name, this.#logger, () => versions.stable.version);
    countChanges(this.#events, this.#telemetry);
    if (opts.tracking) {
      this.#evidence = createEvidenceRecorder(opts.tracking, this.name, config, this.#logger, versions, this.#now);
      this.#evidence.subscribe(this.#events);
    }
    this.#mirror = Mirror.for(opts.shadow, this.#telemetry, this.#logger);
  }

  // ---- ServableModel -------------------------------------------------------------------------------------

  get version(): string {
    return this.#traffic.stable.version;
  }

  get signature(): ModelSignature {
    return this.#traffic.stable.model.signature;
  }

  get metadata(): Readonly<Record<string, unknown>> {
    const canary = this.#versions.state.canary;
    return {
      deployment: true,
      stable: this.#traffic.stable.version,
      canary: canary?.version,
      canaryWeight: canary?.weight,
    };
  }

  get state(): ModelState {
    return this.#state;
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  predict(input: PredictInput, options: RoutedPredictOptions = {}): Promise<VersionedPrediction> {
    if (this.#state !== 'ready') {
      return Promise.reject(
        new ModelshipError('NOT_READY', `Deployment ${this.name} is ${this.#state} and takes no new requests.`),
      );
    }
    const { routingKey, ...rest } = options;
    return this.#run(this.#traffic.pick(routingKey), input, rest, true);
  }

  #run(
    slot: VersionSlot,
    input: PredictInput,
    options: RoutedPredictOptions,
    mayRetry: boolean,
  ): Promise<VersionedPrediction> {
    const timed = this.#timed || this.#telemetry.enabled;
    const started = timed ? performance.now() : 0;
    const done = slot.enter();
    let pending: Promise<VersionedPrediction['outputs']>;
    try {
      const signal = options.signal;
      pending = slot.model.predict(
        input,
        signal === undefined ? options : { ...options, signal: slot.signalFor(signal) },
      );
    } catch (error) {
      pending = Promise.reject(error);
    }
    const traffic = this.#traffic;
    const role = slot === traffic.canary ? 'canary' : slot === this.#versions.shadow ? 'shadow' : 'stable';
    return pending.then(
      (outputs) => {
        done();
        const ms = timed ? performance.now() - started : 0;
        slot.window.record(ms, false);
        this.#telemetry.request(slot.version, role, timed ? ms / 1000 : undefined);
        if (slot === this.#traffic.canary && this.#versions.state.progressive) this.#served++;
        this.#mirrorAfter(slot, input, outputs);
        return new SlotAnswer(slot, outputs);
      },
      (error: unknown) => {
        done();
        const e = toModelshipError(error, 'INFERENCE_FAILED');
        // The version was swapped out between routing and running: answer from what serves now.
        if (
          mayRetry &&
          e.code === 'NOT_READY' &&
          this.#state === 'ready' &&
          slot !== this.#traffic.stable &&
          slot !== this.#traffic.canary
        ) {
          return this.#run(this.#traffic.stable, input, options, false);
        }
        const failed = countsAsFailure(e);
        if (failed || timed) slot.window.record(timed ? performance.now() - started : 0, failed);
        this.#telemetry.request(slot.version, role, timed ? (performance.now() - started) / 1000 : undefined, e.code);
        throw e;
      },
    );
  }

  /** Mirrors an answer to the shadow, and a canary's answer to stable when agreement is judged. */
  #mirrorAfter(served: VersionSlot, input: PredictInput, outputs: VersionedPrediction['outputs']): void {
    const shadow = this.#versions.shadow;
    // Without a shadow there are no shadow options: a canary is compared with argmax.
    const rule = this.#opts.shadow?.compare ?? 'argmax';
    if (shadow !== undefined && this.#traffic.mirrorToShadow()) {
      this.#mirror.offer({ target: shadow, input, reference: outputs, judged: shadow, rule, recordTarget: true });
    }
    if (served === this.#traffic.canary && this.#judgesAgreement && this.#traffic.compareWithStable()) {
      this.#mirror.offer({
        target: this.#traffic.stable,
        input,
        reference: outputs,
        judged: served,
        rule,
        recordTarget: false,
      });
    }
  }

  // ---- lifecycle -----------------------------------------------------------------------------------------

  async start(): Promise<void> {
    const opts = this.#opts;
    const versions = this.#versions;
    try {
      const { stable, canary, shadow } = await loadVersions(opts, this.#load);
      versions.add(stable);
      if (canary) versions.add(canary);
      if (shadow) versions.setShadow(shadow);
      versions.apply(
        initialState(
          toEntry(stable),
          canary && toEntry(canary),
          opts.canary?.weight ?? 0,
          this.#config.machine,
          this.#now(),
        ),
      );
      this.#traffic = new Traffic(
        stable,
        opts.random ?? Math.random,
        opts.shadow?.sampleRate ?? 1,
        opts.guardrails?.compareSampleRate ?? 1,
      );
      this.#route();
    } catch (error) {
      this.#telemetry.close();
      this.#state = 'failed';
      throw error;
    }
    this.#state = 'ready';
    const interval = this.#config.evaluateEveryMs;
    if (interval !== undefined) {
      this.#evidence?.restart(this.#now());
      this.#timer = setInterval(() => this.evaluate(), interval);
      (this.#timer as { unref?: () => void }).unref?.();
    }
    if (opts.watch) {
      const intervalMs = typeof opts.watch === 'object' ? opts.watch.intervalMs : undefined;
      this.#unwatch = followRegistry(opts.registry, opts.stable, intervalMs, DEPLOYMENT_DEFAULTS.interval, {
        name: this.name,
        logger: this.#logger,
        serving: () => this.#state === 'ready',
        stableVersion: () => versions.stable.version,
        previousVersion: () => versions.previous?.version,
        exclusive: (task) => this.#exclusive(task),
        switchTo: (ref) => this.#switch(ref, 'watch'),
        revert: () => this.#command({ type: 'revert', reason: 'watch' }),
      });
    }
  }

  /** Points traffic at the versions the state names. */
  #route(): void {
    const v = this.#versions;
    this.#traffic.set(v.stable, v.canary, v.state.canary?.weight ?? 0);
  }

  /** Runs `command` through the state machine and applies the outcome: roles, retirements, timers, events. */
  #command(command: DeploymentCommand): void {
    const before = this.#versions.state;
    const { state, events }: Transition = transition(before, command, this.#config.machine, this.#now());
    if (state === before) return;
    this.#versions.apply(state);
    this.#route();
    if (state.progressive?.since !== before.progressive?.since) this.#served = 0;
    if (state.previous?.key !== before.previous?.key) this.#keepPrevious();
    for (const e of events) this.#events.emit(e.event, e.payload as never);
  }

  /** Arms the timer that retires the version kept for a rollback once `keepPrevious` runs out. */
  #keepPrevious(): void {
    clearTimeout(this.#previousTimer);
    const previous = this.#versions.state.previous;
    if (previous === undefined) return;
    this.#previousTimer = setTimeout(
      () => this.#command({ type: 'expire-previous', key: previous.key }),
      this.#config.machine.keepPreviousMs,
    );
    (this.#previousTimer as { unref?: () => void }).unref?.();
  }

  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(task);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  // ---- blue-green ----------------------------------------------------------------------------------------

  switchTo(ref: string): Promise<DeploymentStatus> {
    return this.#exclusive(async () => {
      await this.#switch(ref, 'manual');
      return this.status();
    });
  }

  ownVersionRef(selector: unknown): string {
    return selectorToRef(this.#source, selector, this.name);
  }

  async #switch(ref: string, reason: ChangeReason): Promise<void> {
    this.#assertOpen();
    const outcome = await loadCandidate(
      ref,
      this.#load,
      () => this.#versions.stable,
      this.#opts.validate,
      () => this.#assertOpen(),
    );
    if (outcome.refused) {
      this.#events.emit('refused', {
        ref,
        ...(outcome.version === undefined ? {} : { version: outcome.version }),
        reason,
        error: outcome.refused,
      });
      throw outcome.refused;
    }
    if (outcome.slot === undefined) return;
    // The switch itself is synchronous: a request routed before it runs on the old version, after it on the new.
    this.#versions.add(outcome.slot);
    this.#command({ type: 'switch', to: toEntry(outcome.slot), reason });
  }

  rollback(): Promise<DeploymentStatus> {
    return this.#manual({ type: 'rollback', reason: 'manual' });
  }

  promote(): Promise<DeploymentStatus> {
    return this.#manual({ type: 'promote', reason: 'manual' });
  }

  setWeight(weight: number): Promise<DeploymentStatus> {
    return this.#manual({ type: 'set-weight', weight });
  }

  /** A change asked for by hand: NOT_READY thrown at once when closed, a refused command as a rejection. */
  #manual(command: DeploymentCommand): Promise<DeploymentStatus> {
    this.#assertOpen();
    try {
      this.#command(command);
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve(this.status());
  }

  // ---- guardrails and progressive delivery ---------------------------------------------------------------

  evaluate(): void {
    if (this.#state !== 'ready') return;
    const now = this.#now();
    const v = this.#versions;
    const shadow = v.shadow && toEntry(v.shadow);
    for (const command of judge(v.state, shadow, v.statsOf, this.#served, this.#config.guardrails, now)) {
      // The window a breach was read from starts over, so the next judgement sees only what came after the action.
      if (command.type === 'breach')
        v.all()
          .find((s) => s.key === command.finding.key)
          ?.window.reset();
      this.#command(command);
    }
    this.#evidence?.tick(now);
  }

  // ---- status, events, close -----------------------------------------------------------------------------

  status(): DeploymentStatus {
    return this.#versions.status(this.name, this.#state, this.#mirror.stats());
  }

  on<E extends DeploymentEvent>(event: E, listener: (payload: DeploymentEvents[E]) => void): () => void {
    return this.#events.on(event, listener);
  }

  #assertOpen(): void {
    if (this.#state !== 'ready') throw new ModelshipError('NOT_READY', `Deployment ${this.name} is ${this.#state}.`);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closing';
      if (this.#timer !== undefined) clearInterval(this.#timer);
      this.#unwatch?.();
      this.#mirror.close();
      await this.#chain;
      // The last sample covers the time since the previous one; then every run ends FINISHED.
      await this.#evidence?.close();
      clearTimeout(this.#previousTimer);
      await Promise.all(this.#versions.all().map((s) => s.retire()));
      this.#telemetry.close();
      this.#state = 'closed';
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Creates a deployment whose versions load through `loaders`: registry references and paths with `load`,
 * `{ remote: … }` versions with `loadRemote`. Runtimes bind it (`createDeployment`, `createDeploymentWith`).
 * Resolves once every version is loaded and warm.
 */
export async function startDeployment(loaders: DeploymentLoaders, options: DeploymentOptions): Promise<Deployment> {
  if (typeof loaders.load !== 'function')
    throw new ModelshipError(
      'INVALID_OPTIONS',
      'createDeploymentWith needs a loader function (ref, options) => Promise<model>.',
    );
  const deployment = new RoutedDeployment(parseDeploymentOptions(options), loaders);
  await deployment.start();
  return deployment;
}
