import { ModelshipError } from '../../errors/index.js';
import type { Logger } from '../../serving/logger.js';
import type { DeploymentConfig } from '../deployment-config.js';
import type { ParsedDeploymentOptions } from '../deployment-options.js';
import type { DeploymentState, EmittedEvent, VersionEntry } from '../deployment-state.js';
import { judge } from '../guardrails.js';
import type { LoadContext } from '../version-loading.js';
import { registrySource, type RegistrySource } from '../version-selector.js';
import type { SharedStateStore } from '../../spec/shared-state.js';
import type { VersionSet } from '../version-set.js';
import { fleetWarning, FleetSync } from './fleet-sync.js';

/** How often replicas read the shared state when `fleet: true` (ms). */
export const FLEET_DEFAULT_INTERVAL_MS = 2_000;

/** What the fleet needs from the deployment's control. */
export interface FleetControlHost {
  readonly name: string;
  readonly opts: ParsedDeploymentOptions;
  readonly config: DeploymentConfig;
  readonly logger: Logger;
  readonly load: LoadContext;
  readonly versions: VersionSet;
  readonly now: () => number;
  served(): number;
}

/** A deployment's part in a fleet: the shared state, its poll, and guardrail/progressive decisions made on it. */
export interface Fleet {
  readonly sync: FleetSync;
  /** Starts reading the shared state every interval. */
  start(): void;
  stop(): void;
  /** Judges guardrails and the progressive schedule on the shared state and writes what that decides, once. */
  evaluate(shadow: VersionEntry | undefined, now: number): Promise<void>;
  /** Logs a failed fleet operation; the replica keeps serving. */
  warn(error: unknown): void;
}

/**
 * Where a deployment with `fleet` keeps its state and how it names versions. INVALID_OPTIONS when the registry
 * cannot share state (no `sharedState`) or stable is not a registry reference (a path or a remote endpoint has
 * no reference every replica could load): checked before any version is loaded.
 */
export function fleetSources(opts: ParsedDeploymentOptions): { store: SharedStateStore; source: RegistrySource } {
  const store = opts.registry?.sharedState;
  const source = registrySource(opts.stable);
  if (store === undefined || source === undefined || (opts.canary && typeof opts.canary.ref !== 'string')) {
    throw new ModelshipError(
      'INVALID_OPTIONS',
      `fleet needs a registry that can share state (the local, MLflow or SageMaker registry) and registry references as stable and canary (deployment ${opts.name}).`,
    );
  }
  return { store, source };
}

/** The fleet of a deployment created with `fleet`, or undefined without it. */
export function createFleet(
  host: FleetControlHost,
  apply: (before: DeploymentState, state: DeploymentState, events: readonly EmittedEvent[]) => void,
  exclusive: <T>(task: () => Promise<T>) => Promise<T>,
): Fleet | undefined {
  const option = host.opts.fleet;
  if (option === undefined || option === false) return undefined;
  const { store, source } = fleetSources(host.opts);
  const settings = option === true ? {} : option;
  const intervalMs = settings.intervalMs ?? FLEET_DEFAULT_INTERVAL_MS;
  const sync = new FleetSync({
    name: host.name,
    logger: host.logger,
    store,
    machine: host.config.machine,
    load: host.load,
    versions: host.versions,
    now: host.now,
    replica: settings.replica ?? globalThis.crypto.randomUUID().slice(0, 8),
    pin: (slot) => `${source.prefix}${slot.model.name}/${slot.version}`,
    apply,
  });
  const warn = (error: unknown): void => host.logger.warn(fleetWarning(host.name, error));
  let timer: ReturnType<typeof setInterval> | undefined;
  let polling = false;
  return {
    sync,
    start() {
      timer = setInterval(() => {
        if (polling) return;
        polling = true;
        exclusive(() => sync.sync())
          .catch(warn)
          .finally(() => (polling = false));
      }, intervalMs);
      (timer as { unref?: () => void }).unref?.();
    },
    stop() {
      clearInterval(timer);
    },
    evaluate(shadow, now) {
      const v = host.versions;
      return exclusive(async () => {
        const written = await sync.propose((state) =>
          judge(state, shadow, v.statsOf, host.served(), host.config.guardrails, now),
        );
        // The window a breach was read from starts over, so the next judgement sees only what came after it.
        for (const command of written)
          if (command.type === 'breach')
            v.all()
              .find((s) => s.key === command.finding.key)
              ?.window.reset();
      }).catch(warn);
    },
    warn,
  };
}
