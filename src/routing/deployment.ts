import { backoffDelay } from '../core/backoff.js';
import { parseDuration } from '../core/duration.js';
import { redactUrl } from '../core/redact.js';
import type { PredictInput } from '../core/input.js';
import {
  checkGuardrails,
  pickByKey,
  pickByWeight,
  signatureIncompatibilities,
  type AgreementRule,
  type GuardrailLimits,
} from './policy/index.js';
import { ModelshipError, toModelshipError } from '../errors/index.js';
import { defaultLogger, type Logger } from '../serving/logger.js';
import type { ModelState, RoutedPredictOptions, ServableModel, VersionedPrediction } from '../serving/servable.js';
import type { ModelSignature } from '../spec/tensor.js';
import { DeploymentTelemetry } from '../telemetry/index.js';
import { parseDeploymentOptions, type DeploymentOptions, type ParsedDeploymentOptions, type SageMakerVersion, type VersionRef } from './deployment-options.js';
import type { ChangeReason, Deployment, DeploymentEvent, DeploymentEvents, DeploymentStatus, VersionStatus } from './deployment-types.js';
import { Evidence, type EvidenceVersion } from './evidence.js';
import { Mirror } from './mirror.js';
import { createRemoteVersion } from './remote-version.js';
import { createSageMakerVersion } from './sagemaker-version.js';
import { validateCandidate } from './validate.js';
import { assertVersionLabel } from './version-label.js';
import { registrySource, selectorToRef, type RegistrySource } from './version-selector.js';
import { VersionSlot } from './version-slot.js';

/** Loads one version for a deployment: `loadModel` bound to a runtime, or your own. */
export type VersionLoader = (ref: string, options: Record<string, unknown>) => Promise<ServableModel>;

const DEFAULTS = { window: 60_000, minRequests: 100, interval: 5_000, keepPrevious: 600_000, queueSize: 64, timeoutMs: 10_000, trackInterval: 60_000 };

function refText(ref: VersionRef): string {
  if (typeof ref === 'string') return ref;
  return ref.remote.protocol === 'sagemaker' ? `sagemaker-endpoint:${ref.remote.endpointName}${ref.remote.targetVariant === undefined ? '' : `/${ref.remote.targetVariant}`}` : `${redactUrl(ref.remote.url)}#${ref.remote.model}`;
}

/** Only server-side failures count against a version; a caller's bad input or deadline says nothing about it. */
function countsAsFailure(error: ModelshipError): boolean {
  return error.httpStatus >= 500 && error.code !== 'DEADLINE_EXCEEDED';
}

/**
 * What a version answered, and the way back for a failure to send it: a class rather than an object with a
 * closure, so the hot path allocates what it did before (one object per answer).
 */
class SlotAnswer implements VersionedPrediction {
  readonly outputs: VersionedPrediction['outputs'];
  readonly version: string;
  readonly #slot: VersionSlot;

  constructor(slot: VersionSlot, outputs: VersionedPrediction['outputs']) {
    this.#slot = slot;
    this.outputs = outputs;
    this.version = slot.version;
  }

  /** The success recorded when the version answered becomes an error (if the failure is a server-side one). */
  answerFailed(error: unknown): void {
    if (countsAsFailure(toModelshipError(error))) this.#slot.window.answerFailed();
  }
}

class RoutedDeployment implements Deployment {
  readonly kind = 'deployment';
  readonly routed = true;
  readonly name: string;
  readonly platform: string;
  readonly #opts: ParsedDeploymentOptions;
  readonly #load: VersionLoader;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #windowMs: number;
  readonly #limits: GuardrailLimits | undefined;
  readonly #coolDownMs: number;
  readonly #keepPreviousMs: number;
  readonly #telemetry: DeploymentTelemetry;
  readonly #source: RegistrySource | undefined;
  readonly #listeners = new Map<DeploymentEvent, Set<(payload: never) => void>>();
  #stable!: VersionSlot;
  #canary: { slot: VersionSlot; weight: number } | undefined;
  #shadow: { slot: VersionSlot; rate: number; rule: AgreementRule } | undefined;
  #previous: { slot: VersionSlot; closesAt: number; timer: ReturnType<typeof setTimeout> } | undefined;
  #progressive: { step: number; since: number; served: number; halted: boolean } | undefined;
  #coolDownUntil = -Infinity;
  #mirror: Mirror;
  #state: ModelState = 'warming';
  #chain: Promise<unknown> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | undefined;
  #unwatch: (() => void) | undefined;
  /** The reference the watch last asked for, and the timer trying it again after a registry failure. */
  #watched: string | undefined;
  #watchRetry: ReturnType<typeof setTimeout> | undefined;
  #closing: Promise<void> | undefined;
  readonly #evidence: { log: Evidence; intervalMs: number; last: number } | undefined;
  /** The last breach per version, so the rollback that follows can say why. */
  readonly #breaches = new Map<string, string>();

  constructor(opts: ParsedDeploymentOptions, load: VersionLoader) {
    this.#opts = opts;
    this.#load = load;
    this.name = opts.name;
    this.platform = 'modelship_deployment';
    this.#logger = opts.logger ?? defaultLogger;
    this.#source = registrySource(opts.stable);
    this.#now = opts.clock ?? Date.now;
    this.#random = opts.random ?? Math.random;
    const g = opts.guardrails;
    this.#windowMs = g?.window === undefined ? DEFAULTS.window : parseDuration(g.window, 'guardrails.window');
    this.#coolDownMs = g?.coolDown === undefined ? this.#windowMs : parseDuration(g.coolDown, 'guardrails.coolDown');
    this.#keepPreviousMs = opts.keepPrevious === undefined ? DEFAULTS.keepPrevious : parseDuration(opts.keepPrevious, 'keepPrevious');
    this.#limits = g && {
      minRequests: g.minRequests ?? DEFAULTS.minRequests,
      ...(g.maxErrorRate === undefined ? {} : { maxErrorRate: g.maxErrorRate }),
      ...(g.maxLatencyP99Ratio === undefined ? {} : { maxLatencyP99Ratio: g.maxLatencyP99Ratio }),
      ...(g.minShadowAgreement === undefined ? {} : { minShadowAgreement: g.minShadowAgreement }),
    };
    this.#telemetry = new DeploymentTelemetry(
      this.name,
      () => this.#weights(),
      () =>
        [this.#canary && { slot: this.#canary.slot, role: 'canary' }, this.#shadow && { slot: this.#shadow.slot, role: 'shadow' }]
          .filter((x) => x !== undefined)
          .map(({ slot, role }) => ({ version: slot.version, role, value: slot.window.stats().agreement })),
    );
    if (opts.tracking) {
      const intervalMs = opts.tracking.interval === undefined ? DEFAULTS.trackInterval : parseDuration(opts.tracking.interval, 'tracking.interval');
      const log = new Evidence({
        tracker: opts.tracking.tracker,
        deployment: this.name,
        experiment: opts.tracking.experiment ?? this.name,
        logger: this.#logger,
        closeTimeoutMs: opts.tracking.closeTimeoutMs ?? 10_000,
        params: {
          'guardrails.window_ms': this.#windowMs,
          'tracking.interval_ms': intervalMs,
          ...Object.fromEntries(Object.entries(this.#limits ?? {}).map(([k, v]) => [`guardrails.${k}`, v as number])),
        },
      });
      this.#evidence = { log, intervalMs: Math.max(1, intervalMs), last: this.#now() };
    }
    this.#mirror = new Mirror({
      capacity: opts.shadow?.queueSize ?? DEFAULTS.queueSize,
      concurrency: opts.shadow?.concurrency ?? 1,
      timeoutMs: opts.shadow?.timeoutMs ?? DEFAULTS.timeoutMs,
      telemetry: this.#telemetry,
      logger: this.#logger,
    });
  }

  // ---- ServableModel -------------------------------------------------------------------------------------

  get version(): string {
    return this.#stable.version;
  }

  get signature(): ModelSignature {
    return this.#stable.model.signature;
  }

  get metadata(): Readonly<Record<string, unknown>> {
    return { deployment: true, stable: this.#stable.version, canary: this.#canary?.slot.version, canaryWeight: this.#canary?.weight };
  }

  get state(): ModelState {
    return this.#state;
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  predict(input: PredictInput, options: RoutedPredictOptions = {}): Promise<VersionedPrediction> {
    if (this.#state !== 'ready') {
      return Promise.reject(new ModelshipError('NOT_READY', `Deployment ${this.name} is ${this.#state} and takes no new requests.`));
    }
    const { routingKey, ...rest } = options;
    const slot = this.#route(routingKey);
    return this.#run(slot, input, rest, true);
  }

  #route(key: string | undefined): VersionSlot {
    const canary = this.#canary;
    if (canary === undefined || canary.weight <= 0) return this.#stable;
    const targets = [
      { id: 'stable', weight: 1 - canary.weight, value: this.#stable },
      { id: 'canary', weight: canary.weight, value: canary.slot },
    ];
    // Ids are roles, not versions, so a key keeps its side when the versions behind the roles change.
    return (key === undefined ? pickByWeight(this.#random(), targets) : pickByKey(key, targets)) ?? this.#stable;
  }

  #run(slot: VersionSlot, input: PredictInput, options: RoutedPredictOptions, mayRetry: boolean): Promise<VersionedPrediction> {
    const timed = this.#limits !== undefined || this.#telemetry.enabled;
    const started = timed ? performance.now() : 0;
    const done = slot.enter();
    let pending: Promise<VersionedPrediction['outputs']>;
    try {
      const signal = options.signal;
      pending = slot.model.predict(input, signal === undefined ? options : { ...options, signal: slot.signalFor(signal) });
    } catch (error) {
      pending = Promise.reject(error);
    }
    const role = this.#roleOf(slot);
    return pending.then(
      (outputs) => {
        done();
        const ms = timed ? performance.now() - started : 0;
        slot.window.record(ms, false);
        this.#telemetry.request(slot.version, role, timed ? ms / 1000 : undefined);
        if (slot === this.#canary?.slot && this.#progressive) this.#progressive.served++;
        this.#mirrorAfter(slot, input, outputs);
        return new SlotAnswer(slot, outputs);
      },
      (error: unknown) => {
        done();
        const e = toModelshipError(error, 'INFERENCE_FAILED');
        // The version was swapped out between routing and running: answer from what serves now.
        if (mayRetry && e.code === 'NOT_READY' && this.#state === 'ready' && slot !== this.#stable && slot !== this.#canary?.slot) {
          return this.#run(this.#stable, input, options, false);
        }
        const failed = countsAsFailure(e);
        if (failed || timed) slot.window.record(timed ? performance.now() - started : 0, failed);
        this.#telemetry.request(slot.version, role, timed ? (performance.now() - started) / 1000 : undefined, e.code);
        throw e;
      },
    );
  }

  #roleOf(slot: VersionSlot): 'stable' | 'canary' | 'shadow' {
    if (slot === this.#canary?.slot) return 'canary';
    if (slot === this.#shadow?.slot) return 'shadow';
    return 'stable';
  }

  #mirrorAfter(served: VersionSlot, input: PredictInput, outputs: VersionedPrediction['outputs']): void {
    const shadow = this.#shadow;
    if (shadow !== undefined && (shadow.rate >= 1 || this.#random() < shadow.rate)) {
      this.#mirror.offer({ target: shadow.slot, input, reference: outputs, judged: shadow.slot, rule: shadow.rule, recordTarget: true });
    }
    const g = this.#opts.guardrails;
    if (served === this.#canary?.slot && g?.minShadowAgreement !== undefined) {
      const rate = g.compareSampleRate ?? 1;
      if (rate >= 1 || this.#random() < rate) {
        this.#mirror.offer({ target: this.#stable, input, reference: outputs, judged: served, rule: shadow?.rule ?? 'argmax', recordTarget: false });
      }
    }
  }

  // ---- lifecycle -----------------------------------------------------------------------------------------

  async start(): Promise<void> {
    const opts = this.#opts;
    const loaded: ServableModel[] = [];
    try {
      const stable = await this.#loadVersion(opts.stable);
      loaded.push(stable.model);
      this.#stable = stable;
      if (opts.canary) {
        const canary = await this.#loadVersion(opts.canary.ref);
        loaded.push(canary.model);
        this.#requireCompatible(canary.model);
        const first = opts.progressive?.steps[0];
        this.#canary = { slot: canary, weight: first ?? opts.canary.weight };
        if (opts.progressive) this.#progressive = { step: 0, since: this.#now(), served: 0, halted: false };
      }
      if (opts.shadow) {
        const shadow = await this.#loadVersion(opts.shadow.ref);
        loaded.push(shadow.model);
        this.#requireCompatible(shadow.model);
        this.#shadow = { slot: shadow, rate: opts.shadow.sampleRate ?? 1, rule: opts.shadow.compare ?? 'argmax' };
      }
    } catch (error) {
      await Promise.all(loaded.map((m) => m.close().catch(() => undefined)));
      this.#telemetry.close();
      this.#state = 'failed';
      throw error;
    }
    this.#state = 'ready';
    if (opts.guardrails || opts.progressive || this.#evidence) {
      const guard = opts.guardrails?.interval === undefined ? DEFAULTS.interval : parseDuration(opts.guardrails.interval, 'guardrails.interval');
      const interval = opts.guardrails || opts.progressive ? Math.min(guard, this.#evidence?.intervalMs ?? Infinity) : (this.#evidence?.intervalMs as number);
      if (this.#evidence) this.#evidence.last = this.#now();
      this.#timer = setInterval(() => this.evaluate(), Math.max(1, interval));
      (this.#timer as { unref?: () => void }).unref?.();
    }
    if (opts.watch) this.#startWatch();
  }

  async #loadVersion(ref: VersionRef): Promise<VersionSlot> {
    const model =
      typeof ref === 'string'
        ? await this.#load(ref, { ...this.#opts.modelOptions, ...(this.#opts.registry ? { registry: this.#opts.registry } : {}), logger: this.#logger })
        : ref.remote.protocol === 'sagemaker'
          ? await createSageMakerVersion(ref.remote as SageMakerVersion)
          : await createRemoteVersion(ref.remote);
    try {
      // Every answer carries the label in a header: one that cannot be written would fail after the version answered.
      assertVersionLabel(model.version, `Version ${refText(ref)} of deployment ${this.name}`, 'MODEL_LOAD_FAILED');
      await model.ready();
    } catch (error) {
      await model.close().catch(() => undefined);
      throw error;
    }
    return new VersionSlot(model, refText(ref), this.#windowMs, this.#now);
  }

  #requireCompatible(model: ServableModel): void {
    const problems = signatureIncompatibilities(this.#stable.model.signature, model.signature);
    if (problems.length > 0) {
      throw new ModelshipError(
        'INCOMPATIBLE_SIGNATURE',
        `Version ${model.version} cannot replace ${this.#stable.version} in deployment ${this.name}: ${problems.join('; ')}. Publish a version with the same inputs and outputs, or create a new deployment.`,
        { details: { problems } },
      );
    }
  }

  #startWatch(): void {
    const registry = this.#opts.registry;
    const stable = this.#opts.stable;
    if (registry?.watch === undefined || typeof stable !== 'string') {
      throw new ModelshipError('INVALID_OPTIONS', `watch needs a registry with watch() and a registry reference as stable (deployment ${this.name}).`);
    }
    const intervalMs = typeof this.#opts.watch === 'object' ? this.#opts.watch.intervalMs : undefined;
    const base = stable.split('@')[0]?.split('/')[0] as string;
    const retry = { baseMs: intervalMs ?? DEFAULTS.interval, maxMs: 60_000 };
    const follow = (version: string, ref: string, attempt: number): void => {
      this.#watched = ref;
      clearTimeout(this.#watchRetry);
      void this.#exclusive(async () => {
        if (this.#state !== 'ready' || this.#watched !== ref || version === this.#stable.version) return;
        this.#logger.info(`Deployment ${this.name}: ${stable} moved to version ${version}.`);
        if (this.#previous?.slot.version === version) this.#revert('watch');
        else await this.#switch(ref, 'watch');
      }).catch((error: unknown) => {
        // Refusals are reported by #switch. One the registry caused (down, flapping mid-download) is tried again,
        // as the watch will not call again until the reference moves once more; stable keeps serving meanwhile.
        if (this.#state !== 'ready' || this.#watched !== ref || !toModelshipError(error).retryable) return;
        this.#watchRetry = setTimeout(() => follow(version, ref, attempt + 1), backoffDelay(attempt, retry));
        (this.#watchRetry as { unref?: () => void }).unref?.();
      });
    };
    this.#unwatch = registry.watch(
      stable,
      (next) => follow(next.version, next.versionRef ?? `${base}/${next.version}`, 0),
      {
        ...(intervalMs === undefined ? {} : { intervalMs }),
        since: { version: this.#stable.version },
        onError: (error) => this.#logger.warn(`Deployment ${this.name}: watching ${stable} failed (${error.message}); still serving ${this.#stable.version}.`),
      },
    );
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
    let candidate: VersionSlot | undefined;
    try {
      candidate = await this.#loadVersion(ref);
      if (candidate.model.name === this.#stable.model.name && candidate.version === this.#stable.version) {
        await candidate.model.close();
        return;
      }
      this.#requireCompatible(candidate.model);
      if (this.#opts.validate) await validateCandidate(candidate.model, this.#stable.model, this.#opts.validate);
      this.#assertOpen();
    } catch (error) {
      await candidate?.model.close().catch(() => undefined);
      const e = toModelshipError(error, 'MODEL_LOAD_FAILED');
      this.#logger.warn(`Deployment ${this.name}: refused ${ref} (${e.code}: ${e.message}); ${this.#stable.version} keeps serving.`);
      this.#telemetry.changed('refused', candidate?.version ?? ref, e.code);
      this.#emit('refused', { ref, ...(candidate ? { version: candidate.version } : {}), reason, error: e });
      throw e;
    }
    // The switch itself is synchronous: a request routed before it runs on the old version, after it on the new.
    const old = this.#stable;
    this.#stable = candidate;
    this.#keepAsPrevious(old);
    this.#telemetry.changed('switch', candidate.version, reason);
    this.#logger.info(`Deployment ${this.name}: switched from ${old.version} to ${candidate.version} (${reason}).`);
    this.#emit('switch', { from: old.version, to: candidate.version, reason });
  }

  #keepAsPrevious(slot: VersionSlot): void {
    if (this.#previous) {
      clearTimeout(this.#previous.timer);
      void this.#previous.slot.retire();
    }
    this.#previous = undefined;
    if (this.#keepPreviousMs <= 0) {
      void slot.retire();
      return;
    }
    const timer = setTimeout(() => {
      if (this.#previous?.slot === slot) this.#previous = undefined;
      void slot.retire();
    }, this.#keepPreviousMs);
    (timer as { unref?: () => void }).unref?.();
    this.#previous = { slot, closesAt: this.#now() + this.#keepPreviousMs, timer };
  }

  rollback(): Promise<DeploymentStatus> {
    this.#assertOpen();
    if (this.#canary !== undefined && this.#canary.weight > 0) this.#rollbackCanary('manual');
    else if (this.#previous !== undefined) this.#revert('manual');
    else {
      return Promise.reject(
        new ModelshipError('NOTHING_TO_ROLL_BACK', `Deployment ${this.name} has no canary taking traffic and no previous version kept warm (keepPrevious).`),
      );
    }
    return Promise.resolve(this.status());
  }

  #rollbackCanary(reason: ChangeReason): void {
    const canary = this.#canary as { slot: VersionSlot; weight: number };
    canary.weight = 0;
    if (this.#progressive) this.#progressive.halted = true;
    this.#telemetry.changed('rollback', canary.slot.version, reason);
    this.#logger.warn(`Deployment ${this.name}: canary ${canary.slot.version} set to weight 0 (${reason}).`);
    this.#emit('rollback', { kind: 'canary', from: canary.slot.version, to: this.#stable.version, reason });
  }

  /** Back to the previous version; the one rolled back from drains and closes. */
  #revert(reason: ChangeReason): void {
    const previous = this.#previous;
    if (previous === undefined) return;
    clearTimeout(previous.timer);
    this.#previous = undefined;
    const bad = this.#stable;
    this.#stable = previous.slot;
    void bad.retire();
    this.#telemetry.changed('rollback', bad.version, reason);
    this.#logger.warn(`Deployment ${this.name}: rolled back from ${bad.version} to ${previous.slot.version} (${reason}).`);
    this.#emit('rollback', { kind: 'switch', from: bad.version, to: previous.slot.version, reason });
  }

  promote(): Promise<DeploymentStatus> {
    this.#assertOpen();
    if (this.#canary === undefined) return Promise.reject(new ModelshipError('INVALID_ARGUMENT', `Deployment ${this.name} has no canary to promote.`));
    this.#promote('manual');
    return Promise.resolve(this.status());
  }

  #promote(reason: ChangeReason): void {
    const canary = this.#canary as { slot: VersionSlot; weight: number };
    const old = this.#stable;
    this.#stable = canary.slot;
    this.#canary = undefined;
    this.#progressive = undefined;
    this.#keepAsPrevious(old);
    this.#telemetry.changed('promote', canary.slot.version, reason);
    this.#emit('promote', { version: canary.slot.version, weight: 1, final: true, reason });
  }

  setWeight(weight: number): Promise<DeploymentStatus> {
    this.#assertOpen();
    if (this.#canary === undefined) return Promise.reject(new ModelshipError('INVALID_ARGUMENT', `Deployment ${this.name} has no canary to weigh.`));
    if (!(typeof weight === 'number' && weight >= 0 && weight <= 1)) {
      return Promise.reject(new ModelshipError('INVALID_ARGUMENT', `The canary weight must be a number from 0 to 1, got ${String(weight)}.`));
    }
    this.#canary.weight = weight;
    // A weight set by hand takes over from the progressive schedule.
    if (this.#progressive) this.#progressive.halted = true;
    return Promise.resolve(this.status());
  }

  // ---- guardrails and progressive delivery ---------------------------------------------------------------

  evaluate(): void {
    if (this.#state !== 'ready') return;
    const now = this.#now();
    this.#judge(now);
    const evidence = this.#evidence;
    if (evidence !== undefined && now - evidence.last >= evidence.intervalMs) {
      evidence.last = now;
      evidence.log.sample(this.#evidenceVersions(), now);
    }
  }

  /** One row per loaded version, read from the windows guardrails keep anyway. */
  #evidenceVersions(): EvidenceVersion[] {
    const w = this.#canary?.weight ?? 0;
    const row = (slot: VersionSlot, role: EvidenceVersion['role'], weight: number): EvidenceVersion => ({ version: slot.version, ref: slot.ref, role, weight, stats: slot.window.stats() });
    const rows = [row(this.#stable, 'stable', 1 - w)];
    if (this.#canary) rows.push(row(this.#canary.slot, 'canary', w));
    if (this.#shadow) rows.push(row(this.#shadow.slot, 'shadow', 0));
    if (this.#previous) rows.push(row(this.#previous.slot, 'previous', 0));
    // A version in two roles (the same version as stable and shadow) is one run: keep its first row.
    return rows.filter((r, i) => rows.findIndex((o) => o.version === r.version) === i);
  }

  #judge(now: number): void {
    const limits = this.#limits;
    if (limits !== undefined && now >= this.#coolDownUntil) {
      const action = this.#opts.guardrails?.action ?? 'rollback';
      const canary = this.#canary;
      if (canary !== undefined && canary.weight > 0) {
        const breach = checkGuardrails(canary.slot.window.stats(), this.#stable.window.stats(), limits);
        if (breach) {
          this.#breached(canary.slot, 'canary', breach, action, now);
          if (action === 'rollback') this.#rollbackCanary('guardrail');
          return;
        }
      } else if (this.#previous !== undefined) {
        // Just after a switch, the new stable is judged against what the previous version did before it.
        const breach = checkGuardrails(this.#stable.window.stats(), this.#previous.slot.window.stats(), limits);
        if (breach) {
          this.#breached(this.#stable, 'stable', breach, action, now);
          if (action === 'rollback') this.#revert('guardrail');
          return;
        }
      }
      const shadow = this.#shadow;
      if (shadow !== undefined) {
        const breach = checkGuardrails(shadow.slot.window.stats(), this.#stable.window.stats(), limits);
        // A shadow never answers anyone: a breach is reported, there is nothing to roll back.
        if (breach) this.#breached(shadow.slot, 'shadow', breach, 'alert', now);
      }
    }
    this.#advance(now);
  }

  #breached(slot: VersionSlot, role: 'canary' | 'stable' | 'shadow', breach: DeploymentEvents['guardrail']['breach'], action: 'rollback' | 'alert', now: number): void {
    const stats = slot.window.stats();
    this.#coolDownUntil = now + this.#coolDownMs;
    slot.window.reset();
    this.#logger.warn(
      `Deployment ${this.name}: ${role} ${slot.version} breached ${breach.rule} (${breach.value.toFixed(4)} vs ${breach.threshold}) over ${stats.requests} requests; ${action === 'rollback' ? 'rolling back' : 'alerting only'}.`,
    );
    this.#emit('guardrail', { version: slot.version, role, breach, action, stats });
  }

  #advance(now: number): void {
    const p = this.#progressive;
    const canary = this.#canary;
    const steps = this.#opts.progressive?.steps;
    if (p === undefined || p.halted || canary === undefined || steps === undefined || canary.weight <= 0) return;
    const bake = parseDuration(this.#opts.progressive?.bake ?? 0, 'progressive.bake');
    // A bake only counts with traffic: an idle canary proves nothing.
    const needed = this.#limits?.minRequests ?? 0;
    if (now - p.since < bake || p.served < needed || now < this.#coolDownUntil) return;
    const next = p.step + 1;
    if (next >= steps.length || (steps[next] as number) >= 1) {
      this.#promote('progressive');
      return;
    }
    p.step = next;
    p.since = now;
    p.served = 0;
    canary.weight = steps[next] as number;
    this.#telemetry.changed('promote', canary.slot.version, 'progressive');
    this.#emit('promote', { version: canary.slot.version, weight: canary.weight, final: false, reason: 'progressive' });
  }

  // ---- status, events, close -----------------------------------------------------------------------------

  #weights(): { version: string; role: string; value: number }[] {
    const w = this.#canary?.weight ?? 0;
    const out = [{ version: this.#stable.version, role: 'stable', value: 1 - w }];
    if (this.#canary) out.push({ version: this.#canary.slot.version, role: 'canary', value: w });
    return out;
  }

  status(): DeploymentStatus {
    const describe = (slot: VersionSlot): VersionStatus => ({ version: slot.version, ref: slot.ref, state: slot.model.state, stats: slot.window.stats() });
    const p = this.#progressive;
    return {
      name: this.name,
      state: this.#state,
      stable: describe(this.#stable),
      ...(this.#canary ? { canary: { ...describe(this.#canary.slot), weight: this.#canary.weight } } : {}),
      ...(this.#shadow ? { shadow: { ...describe(this.#shadow.slot), mirror: this.#mirror.stats() } } : {}),
      ...(this.#previous ? { previous: { ...describe(this.#previous.slot), closesAt: this.#previous.closesAt } } : {}),
      ...(p && this.#canary ? { progressive: { step: p.step, weight: this.#canary.weight, since: p.since, halted: p.halted } } : {}),
      ...(Number.isFinite(this.#coolDownUntil) ? { coolDownUntil: this.#coolDownUntil } : {}),
    };
  }

  on<E extends DeploymentEvent>(event: E, listener: (payload: DeploymentEvents[E]) => void): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  #emit<E extends DeploymentEvent>(event: E, payload: DeploymentEvents[E]): void {
    if (this.#evidence) this.#record(event, payload);
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        (listener as (p: DeploymentEvents[E]) => void)(payload);
      } catch (error) {
        this.#logger.error(`Deployment ${this.name}: a "${event}" listener threw: ${toModelshipError(error).message}`);
      }
    }
  }

  /** Turns an event into tags on the runs of the versions it concerns. */
  #record<E extends DeploymentEvent>(event: E, payload: DeploymentEvents[E]): void {
    const log = (this.#evidence as { log: Evidence }).log;
    const now = this.#now();
    const tag = (version: string, kind: string, reason: string): void => {
      const slot = [this.#stable, this.#canary?.slot, this.#shadow?.slot, this.#previous?.slot].find((s) => s?.version === version);
      log.event({ kind, version, reason }, slot?.ref ?? version, slot === undefined ? 'retired' : slot === this.#previous?.slot ? 'previous' : this.#roleOf(slot), now);
    };
    if (event === 'switch') {
      const p = payload as DeploymentEvents['switch'];
      tag(p.to, 'switch', `${p.reason}: replaced v${p.from}`);
      tag(p.from, 'replaced', `${p.reason}: by v${p.to}`);
    } else if (event === 'promote') {
      const p = payload as DeploymentEvents['promote'];
      tag(p.version, 'promote', `${p.reason}: weight ${p.weight}${p.final ? ', now stable' : ''}`);
    } else if (event === 'rollback') {
      const p = payload as DeploymentEvents['rollback'];
      const why = p.reason === 'guardrail' ? this.#breaches.get(p.from) : undefined;
      const what = p.kind === 'canary' ? 'canary weight set to 0' : 'reverted';
      tag(p.from, 'rollback', `${p.reason}${why ? ` (${why})` : ''}: ${what}, traffic back to v${p.to}`);
    } else if (event === 'guardrail') {
      const p = payload as DeploymentEvents['guardrail'];
      const why = `${p.breach.rule} ${Number(p.breach.value.toFixed(4))} vs ${p.breach.threshold} over ${p.stats.requests} requests`;
      this.#breaches.set(p.version, why);
      tag(p.version, 'guardrail', `${why}; ${p.action} (${p.role})`);
    } else if (event === 'refused') {
      const p = payload as DeploymentEvents['refused'];
      if (p.version !== undefined) tag(p.version, 'refused', `${p.reason}: ${p.error.code}`);
    }
  }

  #assertOpen(): void {
    if (this.#state !== 'ready') throw new ModelshipError('NOT_READY', `Deployment ${this.name} is ${this.#state}.`);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closing';
      if (this.#timer !== undefined) clearInterval(this.#timer);
      this.#unwatch?.();
      clearTimeout(this.#watchRetry);
      this.#mirror.close();
      await this.#chain;
      // The last sample covers the time since the previous one; then every run ends FINISHED.
      await this.#evidence?.log.close(this.#evidenceVersions(), this.#now());
      if (this.#previous) clearTimeout(this.#previous.timer);
      const slots = [this.#stable, this.#canary?.slot, this.#shadow?.slot, this.#previous?.slot].filter((s): s is VersionSlot => s !== undefined);
      await Promise.all(slots.map((s) => s.retire()));
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
 * Creates a deployment with your own version loader (the runtime-agnostic form; under Node.js use
 * `createDeployment`, which loads versions with `loadModel`). Resolves once every version is loaded and warm.
 */
export async function createDeploymentWith(load: VersionLoader, options: DeploymentOptions): Promise<Deployment> {
  if (typeof load !== 'function') throw new ModelshipError('INVALID_OPTIONS', 'createDeploymentWith needs a loader function (ref, options) => Promise<model>.');
  const deployment = new RoutedDeployment(parseDeploymentOptions(options), load);
  await deployment.start();
  return deployment;
}
