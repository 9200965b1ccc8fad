import { metrics, ValueType, type MeterProvider, type ObservableResult } from '@opentelemetry/api';
import { INSTRUMENTATION_SCOPE } from './names.js';

/** Name of the gauge of records a tracker's spool still has to deliver (`modelship_tracker_spool_pending`). */
export const SPOOL_PENDING_METRIC = 'modelship.tracker.spool.pending';

interface Source {
  readonly kind: string;
  readonly pending: () => number;
}

const sources = new Set<Source>();
let registeredOn: MeterProvider | undefined;

function observeAll(result: ObservableResult): void {
  // Trackers of one kind share a series: the alert is about the destination falling behind, not one process' object.
  const byKind = new Map<string, number>();
  for (const s of sources) byKind.set(s.kind, (byKind.get(s.kind) ?? 0) + s.pending());
  for (const [kind, n] of byKind) result.observe(n, { 'tracker.kind': kind });
}

/** Creates the gauge on the MeterProvider registered now, once per provider (an SDK may be registered late). */
function ensureGauge(): void {
  const provider = metrics.getMeterProvider();
  if (provider === registeredOn) return;
  registeredOn = provider;
  provider
    .getMeter(INSTRUMENTATION_SCOPE)
    .createObservableGauge(SPOOL_PENDING_METRIC, {
      unit: '{record}',
      description: 'Tracking records spooled and not yet acknowledged by the tracking server.',
      valueType: ValueType.INT,
    })
    .addCallback(observeAll);
}

/** A tracker's spool, as the `modelship.tracker.spool.pending` gauge sees it. */
export interface SpoolGauge {
  /** Picks up an SDK registered since (cheap: one comparison when nothing changed). */
  refresh(): void;
  /** Stops reporting this spool. */
  close(): void;
}

/**
 * Reports a tracker's undelivered records on `modelship.tracker.spool.pending{tracker.kind}`, a number that grows
 * while the tracking server is down or slower than the app, and falls back to 0 once it catches up.
 */
export function observeSpool(kind: string, pending: () => number): SpoolGauge {
  const source: Source = { kind, pending };
  sources.add(source);
  ensureGauge();
  return { refresh: ensureGauge, close: () => void sources.delete(source) };
}
