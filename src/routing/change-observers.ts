import { logLine, type Logger, type LogFields } from '../core/logger.js';
import type { DeploymentTelemetry } from '../telemetry/index.js';
import type { DeploymentEmitter } from './deployment-events.js';

/**
 * Logs every change a deployment makes, as subscribers to its events: switches at info level; rollbacks,
 * breaches and refused candidates as warnings. `stable` tells which version keeps serving after a refusal.
 */
export function logChanges(events: DeploymentEmitter, name: string, logger: Logger, stable: () => string): void {
  // labels.* let a log search group a deployment's lines; pino-style loggers get them as fields (core/logger.ts).
  const about = (version: string, extra?: LogFields): LogFields => ({
    'event.dataset': 'modelship.deployment',
    'labels.deployment_name': name,
    'labels.model_version': version,
    ...extra,
  });
  events.on('guardrail', ({ role, version, breach, stats, action }) =>
    logLine(
      logger,
      'warn',
      `Deployment ${name}: ${role} ${version} breached ${breach.rule} (${breach.value.toFixed(4)} vs ${breach.threshold}) over ${stats.requests} requests; ${action === 'rollback' ? 'rolling back' : 'alerting only'}.`,
      about(version, { 'event.action': `guardrail-${action}`, 'labels.guardrail_rule': breach.rule }),
    ),
  );
  events.on('rollback', ({ kind, from, to, reason }) =>
    logLine(
      logger,
      'warn',
      kind === 'canary'
        ? `Deployment ${name}: canary ${from} set to weight 0 (${reason}).`
        : `Deployment ${name}: rolled back from ${from} to ${to} (${reason}).`,
      about(from, { 'event.action': 'rollback', 'event.reason': reason }),
    ),
  );
  events.on('switch', ({ from, to, reason }) =>
    logLine(
      logger,
      'info',
      `Deployment ${name}: switched from ${from} to ${to} (${reason}).`,
      about(to, { 'event.action': 'switch', 'event.reason': reason }),
    ),
  );
  events.on('refused', ({ ref, version, error }) =>
    logLine(
      logger,
      'warn',
      `Deployment ${name}: refused ${ref} (${error.code}: ${error.message}); ${stable()} keeps serving.`,
      about(version ?? ref, { 'event.action': 'refused', 'error.code': error.code }),
    ),
  );
}

/** Counts every change on the deployment's `changes` counter, as a subscriber to its events. */
export function countChanges(events: DeploymentEmitter, telemetry: DeploymentTelemetry): void {
  events.on('switch', ({ to, reason }) => telemetry.changed('switch', to, reason));
  events.on('rollback', ({ from, reason }) => telemetry.changed('rollback', from, reason));
  events.on('promote', ({ version, reason }) => telemetry.changed('promote', version, reason));
  events.on('refused', ({ ref, version, error }) => telemetry.changed('refused', version ?? ref, error.code));
}
