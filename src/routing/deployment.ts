import type { PredictInput } from '../core/input.js';
import { ModelshipError, toModelshipError } from '../errors/index.js';
import { defaultLogger, type Logger } from '../serving/logger.js';
import type { ModelState, RoutedPredictOptions, VersionedPrediction } from '../serving/servable.js';
import type { ModelSignature } from '../spec/tensor.js';
import { DeploymentTelemetry } from '../telemetry/index.js';
import { countChanges, logChanges } from './change-observers.js';
import { watchDeploymentDrift } from './deployment-drift.js';
import { deploymentConfig, type DeploymentConfig } from './deployment-config.js';
import { DeploymentControl } from './deployment-control.js';
import { DeploymentEmitter } from './deployment-events.js';
import { parseDeploymentOptions, type DeploymentOptions, type ParsedDeploymentOptions } from './deployment-options.js';
import { initialState } from './deployment-state.js';
import type { Deployment, DeploymentEvent, DeploymentEvents, DeploymentStatus } from './deployment-types.js';
import { createEvidenceRecorder, type EvidenceRecorder } from './evidence-recorder.js';
import { fleetSources } from './fleet/fleet.js';
import { Mirror } from './mirror.js';
import { countsAsFailure, SlotAnswer } from './slot-answer.js';
import { Traffic } from './traffic.js';
import { loadVersions, type DeploymentLoaders, type LoadContext } from './version-loading.js';
import { registrySource, selectorToRef, type RegistrySource } from './version-selector.js';
import { toEntry, VersionSet } from './version-set.js';
import type { VersionSlot } from './version-slot.js';
import { feedbackTo } from '../monitoring/monitored.js';
import type { FeedbackOutcome } from '../monitoring/feedback-window.js';
import { monitorOfSlot as monitorOf } from './version-monitor.js';

/**
 * The shell of a deployment: it loads versions, routes and runs requests, and hands every change (manual,
 * guardrails, timers, the watch) to its `DeploymentControl`, which feeds them to the pure state machine
 * (`deployment-state.ts`) and applies what it decided. Logs, metrics and evidence subscribe to its events.
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
  #control!: DeploymentControl;
  /** The canary's requests since the progressive step began (the bake counts only with traffic). */
  #served = 0;
  #state: ModelState = 'warming';
  #closing: Promise<void> | undefined;
  #drift: { close(): void } | undefined;

  constructor(opts: ParsedDeploymentOptions, loaders: DeploymentLoaders) {
    this.#opts = opts;
    this.name = opts.name;
    this.#logger = opts.logger ?? defaultLogger;
    this.#source = registrySource(opts.stable);
    this.#now = opts.clock ?? Date.now;
    const config = (this.#config = deploymentConfig(opts));
    if (opts.fleet) fleetSources(opts);
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
      this.#control = new DeploymentControl({
        name: this.name,
        opts,
        config: this.#config,
        logger: this.#logger,
        load: this.#load,
        versions,
        traffic: this.#traffic,
        events: this.#events,
        evidence: this.#evidence,
        now: this.#now,
        state: () => this.#state,
        status: () => this.status(),
        served: () => this.#served,
        resetServed: () => {
          this.#served = 0;
        },
      });
      this.#control.route();
      // A replica that cannot join its fleet does not serve: it would serve a state the others left.
      await this.#control.join().catch(async (error: unknown) => {
        await Promise.all(versions.all().map((s) => s.retire().catch(() => undefined)));
        throw error;
      });
    } catch (error) {
      this.#telemetry.close();
      this.#state = 'failed';
      throw error;
    }
    this.#state = 'ready';
    this.#drift = watchDeploymentDrift(versions, this.#events);
    this.#control.schedule();
  }

  // ---- changes: blue-green, manual, guardrails and progressive delivery (applied by DeploymentControl) ----

  switchTo(ref: string): Promise<DeploymentStatus> {
    return this.#control.switchTo(ref);
  }

  ownVersionRef(selector: unknown): string {
    return selectorToRef(this.#source, selector, this.name);
  }

  rollback(): Promise<DeploymentStatus> {
    return this.#control.manual({ type: 'rollback', reason: 'manual' });
  }

  promote(): Promise<DeploymentStatus> {
    return this.#control.manual({ type: 'promote', reason: 'manual' });
  }

  setWeight(weight: number): Promise<DeploymentStatus> {
    return this.#control.manual({ type: 'set-weight', weight });
  }

  evaluate(): void {
    this.#control.evaluate();
  }

  feedback(requestId: string, label: number): FeedbackOutcome {
    return feedbackTo(this.name, this.#versions.all().map(monitorOf), requestId, label);
  }

  // ---- status, events, close -----------------------------------------------------------------------------

  status(): DeploymentStatus {
    return this.#versions.status(this.name, this.#state, this.#mirror.stats());
  }

  on<E extends DeploymentEvent>(event: E, listener: (payload: DeploymentEvents[E]) => void): () => void {
    return this.#events.on(event, listener);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closing';
      this.#control.stop();
      this.#drift?.close();
      this.#mirror.close();
      await this.#control.settle();
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
