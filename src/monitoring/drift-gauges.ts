import type { DriftGaugeValue } from '../telemetry/monitoring-telemetry.js';
import type { DriftReport } from './drift-window.js';

/** Drift gauges exported per version and reference: the most drifted features (all of them when fewer). */
const GAUGE_FEATURES = 20;

/** The `modelship.drift.score` values of the last reports: psi, js and ks or chi2_pvalue per top feature. */
export function driftGauges(reports: readonly (DriftReport | undefined)[]): DriftGaugeValue[] {
  const out: DriftGaugeValue[] = [];
  for (const r of reports) {
    if (r === undefined) continue;
    for (const f of r.features.slice(0, GAUGE_FEATURES)) {
      const base = { feature: f.feature, reference: r.reference };
      out.push({ ...base, metric: 'psi', value: f.psi }, { ...base, metric: 'js', value: f.js });
      if (f.ks !== undefined) out.push({ ...base, metric: 'ks', value: f.ks });
      if (f.chi2Pvalue !== undefined) out.push({ ...base, metric: 'chi2_pvalue', value: f.chi2Pvalue });
    }
  }
  return out;
}
