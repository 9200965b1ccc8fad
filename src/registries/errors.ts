/** Errors every registry adapter raises the same way (shared by the drivers, the local registry and the kit). */
import { isVersion } from '../core/ref.js';
import { ModelshipError } from '../errors/index.js';

/** INVALID_ARGUMENT with an optional `details` object. */
export function invalidArgument(message: string, details?: Record<string, unknown>): ModelshipError {
  return new ModelshipError('INVALID_ARGUMENT', message, details === undefined ? {} : { details });
}

/** Throws INVALID_ARGUMENT unless `version` is a version string such as `"3"`. */
export function assertVersionArgument(version: string): void {
  if (typeof version !== 'string' || !isVersion(version)) {
    throw invalidArgument(`Invalid version ${JSON.stringify(version)}: versions are positive integers such as "3".`);
  }
}

/** Throws ABORTED, keeping the signal's reason as the cause, once `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new ModelshipError('ABORTED', 'The registry operation was aborted.', { cause: signal.reason });
}

/** `a, b, c (and 4 more)`: a list for an error message, cut at `max` items. */
export function formatList(items: readonly string[], max = 10): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown} (and ${items.length - max} more)` : shown;
}

/** ALIAS_NOT_FOUND listing the model's aliases (or how to set the first one). */
export function aliasNotFound(name: string, alias: string, aliases: Record<string, string>): ModelshipError {
  const entries = Object.entries(aliases).sort(([a], [b]) => (a < b ? -1 : 1));
  const hint =
    entries.length === 0
      ? `It has no aliases yet; set one with setAlias(${JSON.stringify(name)}, ${JSON.stringify(alias)}, '<version>').`
      : `Its aliases: ${formatList(entries.map(([a, v]) => `${a} → ${v}`))}.`;
  return new ModelshipError(
    'ALIAS_NOT_FOUND',
    `Model ${JSON.stringify(name)} has no alias ${JSON.stringify(alias)}. ${hint}`,
    {
      details: { name, alias, available: entries.map(([a]) => a) },
    },
  );
}
