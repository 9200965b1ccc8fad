import {
  metrics,
  ValueType,
  type Attributes,
  type Counter,
  type Histogram,
  type MeterProvider,
  type ObservableGauge,
  type ObservableResult,
} from '@opentelemetry/api';
import { ATTR, DEPLOYMENT_METRICS, DURATION_BUCKETS, INSTRUMENTATION_SCOPE } from './names.js';

interface DeploymentInstruments {
  readonly provider: MeterProvider;
  readonly enabled: boolean;
  readonly requests: Counter;
  readonly duration: Histogram;
  readonly shadowRequests: Counter;
  readonly shadowDuration: Histogram;
  readonly changes: Counter;
  readonly weight: ObservableGauge;
  readonly agreement: ObservableGauge;
}

let shared: DeploymentInstruments | undefined;

function instruments(): DeploymentInstruments {
  const provider = metrics.getMeterProvider();
  if (shared?.provider === provider) return shared;
  const meter = provider.getMeter(INSTRUMENTATION_SCOPE);
  const seconds = (name: string, description: string): Histogram =>
    meter.createHistogram(name, { unit: 's', description, advice: { explicitBucketBoundaries: DURATION_BUCKETS } });
  const count = (name: string, unit: string, description: string): Counter =>
    meter.createCounter(name, { unit, description, valueType: ValueType.INT });
  shared = {
    provider,
    enabled: provider.constructor.name !== 'NoopMeterProvider',
    requests: count(
      DEPLOYMENT_METRICS.requests,
      '{request}',
      'Requests a deployment routed, by version, role and outcome.',
    ),
    duration: seconds(
      DEPLOYMENT_METRICS.duration,
      'Time from a deployment predict() to its answer, by the version that answered.',
    ),
    shadowRequests: count(
      DEPLOYMENT_METRICS.shadowRequests,
      '{request}',
      'Mirrored requests: agreed, disagreed, error or dropped (queue full).',
    ),
    shadowDuration: seconds(DEPLOYMENT_METRICS.shadowDuration, 'Time a mirrored request took on the shadow version.'),
    changes: count(DEPLOYMENT_METRICS.changes, '{change}', 'Switches, rollbacks, promotions and refused candidates.'),
    weight: meter.createObservableGauge(DEPLOYMENT_METRICS.weight, {
      unit: '1',
      description: 'Share of traffic each version receives (0–1).',
    }),
    agreement: meter.createObservableGauge(DEPLOYMENT_METRICS.agreement, {
      unit: '1',
      description: 'Share of compared answers that agreed, over the guardrail window.',
    }),
  };
  return shared;
}

/** One version's traffic share or agreement, as the gauges report it. */
export interface VersionGauge {
  readonly version: string;
  readonly role: string;
  readonly value: number | undefined;
}

/** Metrics of one deployment: requests per version, shadow agreement, weights, switch/rollback counters. */
export class DeploymentTelemetry {
  readonly #name: string;
  readonly #attrs = new Map<string, Attributes>();
  #registered: DeploymentInstruments | undefined;
  readonly #weights: () => readonly VersionGauge[];
  readonly #agreements: () => readonly VersionGauge[];
  readonly #observeWeights = (r: ObservableResult): void => this.#observe(r, this.#weights());
  readonly #observeAgreement = (r: ObservableResult): void => this.#observe(r, this.#agreements());

  constructor(name: string, weights: () => readonly VersionGauge[], agreements: () => readonly VersionGauge[]) {
    this.#name = name;
    this.#weights = weights;
    this.#agreements = agreements;
    this.#register();
  }

  #observe(r: ObservableResult, values: readonly VersionGauge[]): void {
    for (const v of values) if (v.value !== undefined) r.observe(v.value, this.#attributes(v.version, v.role));
  }

  #register(): DeploymentInstruments {
    const i = instruments();
    if (this.#registered !== i) {
      this.close();
      i.weight.addCallback(this.#observeWeights);
      i.agreement.addCallback(this.#observeAgreement);
      this.#registered = i;
    }
    return i;
  }

  #attributes(version: string, role: string, extra?: Record<string, string>): Attributes {
    const key = `${version}\u0000${role}\u0000${extra ? JSON.stringify(extra) : ''}`;
    let attrs = this.#attrs.get(key);
    if (attrs === undefined) {
      attrs = { [ATTR.deployment]: this.#name, [ATTR.modelVersion]: version, [ATTR.role]: role, ...extra };
      this.#attrs.set(key, attrs);
    }
    return attrs;
  }

  /** True when a MeterProvider is registered. */
  get enabled(): boolean {
    return instruments().enabled;
  }

  /** A routed request finished (`errorCode` when it failed). */
  request(version: string, role: string, seconds: number | undefined, errorCode?: string): void {
    const i = this.#register();
    const attrs = this.#attributes(
      version,
      role,
      errorCode === undefined
        ? { [ATTR.outcome]: 'success' }
        : { [ATTR.outcome]: 'error', [ATTR.errorType]: errorCode },
    );
    i.requests.add(1, attrs);
    if (seconds !== undefined) i.duration.record(seconds, attrs);
  }

  /** A mirrored request ended (or was dropped). */
  mirrored(version: string, outcome: 'agreed' | 'disagreed' | 'error' | 'dropped', seconds?: number): void {
    const i = this.#register();
    const attrs = this.#attributes(version, 'shadow', { [ATTR.outcome]: outcome });
    i.shadowRequests.add(1, attrs);
    if (seconds !== undefined) i.shadowDuration.record(seconds, attrs);
  }

  /** A switch, rollback, promotion or refusal happened. */
  changed(kind: 'switch' | 'rollback' | 'promote' | 'refused', version: string, reason: string): void {
    this.#register().changes.add(1, this.#attributes(version, 'change', { kind, reason }));
  }

  /** Stops the gauges (the deployment closed). */
  close(): void {
    this.#registered?.weight.removeCallback(this.#observeWeights);
    this.#registered?.agreement.removeCallback(this.#observeAgreement);
    this.#registered = undefined;
  }
}
