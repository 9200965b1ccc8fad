import type { Logger } from '../serving/logger.js';
import type { DeploymentConfig } from './deployment-config.js';
import type { DeploymentEmitter } from './deployment-events.js';
import type { ParsedDeploymentOptions } from './deployment-options.js';
import type { DeploymentEvents } from './deployment-types.js';
import { Evidence, type EvidenceVersion } from './evidence.js';

/** What the recorder reads from the deployment: the rows of a sample, and a version's reference and role now. */
export interface EvidenceSource {
  rows(): EvidenceVersion[];
  /** The reference and role of a loaded `version` (`previous` included); undefined once it is retired. */
  find(version: string): { readonly ref: string; readonly role: string } | undefined;
}

/**
 * Production evidence as a subscriber: each deployment event becomes tags on the runs of the versions it
 * concerns, and `tick` logs a sample every `intervalMs` of the deployment's clock.
 */
export class EvidenceRecorder {
  readonly #log: Evidence;
  readonly #source: EvidenceSource;
  readonly #now: () => number;
  /** The last breach per version, so the rollback that follows can say why. */
  readonly #breaches = new Map<string, string>();
  readonly intervalMs: number;
  #last: number;

  constructor(log: Evidence, intervalMs: number, source: EvidenceSource, now: () => number) {
    this.#log = log;
    this.intervalMs = Math.max(1, intervalMs);
    this.#source = source;
    this.#now = now;
    this.#last = now();
  }

  /** Subscribes to the deployment's changes. */
  subscribe(events: DeploymentEmitter): void {
    events.on('switch', (p) => this.#record('switch', p));
    events.on('promote', (p) => this.#record('promote', p));
    events.on('rollback', (p) => this.#record('rollback', p));
    events.on('guardrail', (p) => this.#record('guardrail', p));
    events.on('refused', (p) => this.#record('refused', p));
  }

  /** Starts the sampling interval over (the deployment started serving). */
  restart(now: number): void {
    this.#last = now;
  }

  /** Logs a sample when an interval has passed since the last one. */
  tick(now: number): void {
    if (now - this.#last < this.intervalMs) return;
    this.#last = now;
    this.#log.sample(this.#source.rows(), now);
  }

  /** The last sample, then every run ends (FINISHED). */
  close(): Promise<void> {
    return this.#log.close(this.#source.rows(), this.#now());
  }

  #tag(version: string, kind: string, reason: string, now: number): void {
    const found = this.#source.find(version);
    this.#log.event({ kind, version, reason }, found?.ref ?? version, found?.role ?? 'retired', now);
  }

  #record<E extends keyof DeploymentEvents>(event: E, payload: DeploymentEvents[E]): void {
    const now = this.#now();
    if (event === 'switch') {
      const p = payload as DeploymentEvents['switch'];
      this.#tag(p.to, 'switch', `${p.reason}: replaced v${p.from}`, now);
      this.#tag(p.from, 'replaced', `${p.reason}: by v${p.to}`, now);
    } else if (event === 'promote') {
      const p = payload as DeploymentEvents['promote'];
      this.#tag(p.version, 'promote', `${p.reason}: weight ${p.weight}${p.final ? ', now stable' : ''}`, now);
    } else if (event === 'rollback') {
      const p = payload as DeploymentEvents['rollback'];
      const why = p.reason === 'guardrail' ? this.#breaches.get(p.from) : undefined;
      const what = p.kind === 'canary' ? 'canary weight set to 0' : 'reverted';
      this.#tag(p.from, 'rollback', `${p.reason}${why ? ` (${why})` : ''}: ${what}, traffic back to v${p.to}`, now);
    } else if (event === 'guardrail') {
      const p = payload as DeploymentEvents['guardrail'];
      const why = `${p.breach.rule} ${Number(p.breach.value.toFixed(4))} vs ${p.breach.threshold} over ${p.stats.requests} requests`;
      this.#breaches.set(p.version, why);
      this.#tag(p.version, 'guardrail', `${why}; ${p.action} (${p.role})`, now);
    } else if (event === 'refused') {
      const p = payload as DeploymentEvents['refused'];
      if (p.version !== undefined) this.#tag(p.version, 'refused', `${p.reason}: ${p.error.code}`, now);
    }
  }
}

/** The recorder for a deployment's `tracking` options: one run per version, the deployment's settings as params. */
export function createEvidenceRecorder(
  tracking: NonNullable<ParsedDeploymentOptions['tracking']>,
  deployment: string,
  config: DeploymentConfig,
  logger: Logger,
  source: EvidenceSource,
  now: () => number,
): EvidenceRecorder {
  const log = new Evidence({
    tracker: tracking.tracker,
    deployment,
    experiment: tracking.experiment ?? deployment,
    logger,
    closeTimeoutMs: tracking.closeTimeoutMs ?? 10_000,
    params: {
      'guardrails.window_ms': config.windowMs,
      'tracking.interval_ms': config.trackIntervalMs,
      ...Object.fromEntries(
        Object.entries(config.guardrails.limits ?? {}).map(([k, v]) => [`guardrails.${k}`, v as number]),
      ),
    },
  });
  return new EvidenceRecorder(log, config.trackIntervalMs, source, now);
}
