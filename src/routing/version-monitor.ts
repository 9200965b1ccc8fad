import type { ModelMonitor } from '../monitoring/model-monitor.js';
import type { Monitored } from '../monitoring/monitored.js';
import type { VersionSlot } from './version-slot.js';

/** The monitoring of a deployment's version, when it was loaded with `monitoring` (remote versions have none). */
export function monitorOfSlot(slot: VersionSlot): ModelMonitor | undefined {
  return (slot.model as Partial<Monitored>).monitoring;
}
