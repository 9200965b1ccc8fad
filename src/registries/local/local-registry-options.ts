import { z } from 'zod';
import { parseOptions } from '../../core/options.js';

/**
 * Options for {@link createLocalRegistry}. Strict, so a misspelt option fails loudly instead of being ignored.
 */
export const localRegistryOptionsSchema = z.strictObject({
  /** Directory holding `<name>/<version>/model.onnx`. Relative paths resolve against the working directory. */
  root: z.string().min(1, 'root must be a non-empty directory path'),
  /**
   * How long (ms) an alias lock may go without being refreshed before another process may take it over, i.e.
   * how long a crashed holder can block alias updates. proper-lockfile refuses less than 2000.
   */
  lockStaleMs: z.number().int().min(2000).max(3_600_000).optional(),
  /** Default polling interval (ms) for `watch`. */
  watchIntervalMs: z.number().int().min(1).max(3_600_000).optional(),
});

/** Options accepted by {@link createLocalRegistry}. */
export type LocalRegistryOptions = z.input<typeof localRegistryOptionsSchema>;

/** Defaults applied when an option is left out. */
export const LOCAL_REGISTRY_DEFAULTS = {
  lockStaleMs: 10_000,
  watchIntervalMs: 1000,
} as const;

/** Validates options once at the boundary; throws INVALID_OPTIONS describing every problem. */
export function parseLocalRegistryOptions(options: unknown): z.output<typeof localRegistryOptionsSchema> {
  return parseOptions(localRegistryOptionsSchema, options, 'local registry', "Pass at least { root: './models' }.");
}
