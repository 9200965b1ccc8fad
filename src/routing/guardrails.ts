import { checkGuardrails, type GuardrailLimits, type WindowStats } from './policy/index.js';
import type { DeploymentCommand, DeploymentState, GuardrailFinding, VersionEntry } from './deployment-state.js';

/** How guardrails judge: the limits (none: nothing is judged) and what a breach of a serving version does. */
export interface GuardrailPolicy {
  readonly limits: GuardrailLimits | undefined;
  readonly action: 'rollback' | 'alert';
}

/**
 * The commands one evaluation leads to, in order: at most one breach of a serving version (the canary against
 * stable, or, just after a switch, stable against what the previous version did before it) with its rollback,
 * else a shadow's breach (reported only: a shadow answers no one) and the next progressive step. Windows are
 * read through `statsOf` (by version key) only when a judgement needs them. No clock reads, no side effects:
 * the caller runs the commands through `transition` and resets the windows of the versions found breaching.
 *
 * @example
 * ```ts
 * for (const command of judge(state, shadow, (key) => slots.get(key).window.stats(), served, policy, clock())) apply(command);
 * ```
 */
export function judge(
  state: DeploymentState,
  shadow: VersionEntry | undefined,
  statsOf: (key: string) => WindowStats,
  served: number,
  policy: GuardrailPolicy,
  now: number,
): DeploymentCommand[] {
  const { limits, action } = policy;
  const commands: DeploymentCommand[] = [];
  if (limits !== undefined && now >= (state.coolDownUntil ?? -Infinity)) {
    const found = (
      entry: VersionEntry,
      role: GuardrailFinding['role'],
      baseline: VersionEntry,
      act: GuardrailFinding['action'],
    ): GuardrailFinding | undefined => {
      const stats = statsOf(entry.key);
      const breach = checkGuardrails(stats, statsOf(baseline.key), limits);
      return breach && { key: entry.key, version: entry.version, role, breach, action: act, stats };
    };
    const { canary, previous, stable } = state;
    if (canary !== undefined && canary.weight > 0) {
      const finding = found(canary, 'canary', stable, action);
      if (finding)
        return action === 'rollback'
          ? [
              { type: 'breach', finding },
              { type: 'rollback-canary', reason: 'guardrail' },
            ]
          : [{ type: 'breach', finding }];
    } else if (previous !== undefined) {
      // Just after a switch, the new stable is judged against what the previous version did before it.
      const finding = found(stable, 'stable', previous, action);
      if (finding)
        return action === 'rollback'
          ? [
              { type: 'breach', finding },
              { type: 'revert', reason: 'guardrail' },
            ]
          : [{ type: 'breach', finding }];
    }
    if (shadow !== undefined) {
      const finding = found(shadow, 'shadow', stable, 'alert');
      if (finding) commands.push({ type: 'breach', finding });
    }
  }
  commands.push({ type: 'advance', served });
  return commands;
}
