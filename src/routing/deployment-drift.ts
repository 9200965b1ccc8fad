import type { FeatureDrift } from '../monitoring/drift-window.js';
import type { ModelMonitor } from '../monitoring/model-monitor.js';
import type { DeploymentEmitter } from './deployment-events.js';
import type { VersionSet } from './version-set.js';
import { monitorOfSlot } from './version-monitor.js';

/** Features named in a `drift` event: the most drifted first. */
const TOP_FEATURES = 5;

/** How often versions loaded since the last look are subscribed to (a canary started by a watch, a switch). */
const SYNC_MS = 1000;

/**
 * Turns the versions' drift comparisons into deployment `drift` events. Each time a version compares its window
 * with its baseline (its own `interval`), the deployment reports it; when stable and the canary are both
 * monitored, the canary's latest window is then compared with stable's latest (`compareWith`: reference-free, no labels
 * needed), which also sets the canary's `modelship.drift.score{reference="stable"}` gauges. Nothing runs per
 * request: the monitors call back once per window.
 */
export function watchDeploymentDrift(versions: VersionSet, events: DeploymentEmitter): { close(): void } {
  const subscribed = new Map<ModelMonitor, () => void>();
  const roleOf = (m: ModelMonitor): 'stable' | 'canary' | undefined =>
    monitorOfSlot(versions.stable) === m
      ? 'stable'
      : versions.canary !== undefined && monitorOfSlot(versions.canary) === m
        ? 'canary'
        : undefined;
  const emit = (
    role: 'stable' | 'canary',
    r: {
      version?: string;
      reference: 'baseline' | 'stable';
      rows: number;
      drifted: number;
      total: number;
      share: number;
      features: readonly FeatureDrift[];
    },
    version: string,
  ): void =>
    events.emit('drift', {
      version: r.version ?? version,
      role,
      reference: r.reference,
      rows: r.rows,
      drifted: r.drifted,
      total: r.total,
      share: r.share,
      top: r.features.slice(0, TOP_FEATURES),
    });

  const sync = (): void => {
    const live = new Set<ModelMonitor>();
    for (const slot of [versions.stable, versions.canary]) {
      const m = slot === undefined ? undefined : monitorOfSlot(slot);
      if (m === undefined || slot === undefined) continue;
      live.add(m);
      if (subscribed.has(m)) continue;
      const version = slot.version;
      subscribed.set(
        m,
        m.onDrift((report) => {
          const role = roleOf(m);
          if (role === undefined) return;
          emit(role, report, version);
          // Whichever of the two has a new window, the canary's latest is compared with stable's latest.
          const stable = monitorOfSlot(versions.stable);
          const canarySlot = versions.canary;
          const canary = canarySlot === undefined ? undefined : monitorOfSlot(canarySlot);
          if (stable === undefined || canary === undefined || canarySlot === undefined) return;
          const vsStable = canary.compareWith(stable);
          if (vsStable !== undefined) emit('canary', vsStable, canarySlot.version);
        }),
      );
    }
    // Versions that left the deployment are closed by it; their listeners go too.
    for (const [m, off] of subscribed)
      if (!live.has(m)) {
        off();
        subscribed.delete(m);
      }
  };
  sync();
  const offs = (['switch', 'rollback', 'promote'] as const).map((e) => events.on(e, sync));
  const timer = setInterval(sync, SYNC_MS);
  (timer as { unref?: () => void }).unref?.();
  return {
    close: () => {
      clearInterval(timer);
      for (const off of offs) off();
      for (const off of subscribed.values()) off();
      subscribed.clear();
    },
  };
}
