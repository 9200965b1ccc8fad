import { z } from 'zod';
import { parseOptions } from '../../core/options.js';
import { remoteOptionsShape } from '../kit/remote-options.js';

/** Options for {@link createHttpRegistry}. */
export const httpRegistryOptionsSchema = z.strictObject({
  /**
   * Where the registry lives: `https://host/models`, or `s3://bucket/models`. Each model has
   * `<baseUrl>/<name>/index.json` (see docs/registries.md), as written by `writeHttpRegistryIndex`.
   */
  baseUrl: z.string().regex(/^(https?|s3):\/\/[^/]/i, 'baseUrl must be an http(s):// or s3:// URL'),
  /** Headers sent to the registry's own origin only (e.g. `{ authorization: 'Bearer …' }`); never logged. */
  headers: z.record(z.string(), z.string()).optional(),
  /** Default polling interval (ms) for `watch` (default 30 000). */
  watchIntervalMs: z.number().int().min(1).max(86_400_000).optional(),
  ...remoteOptionsShape,
});

/** Options accepted by {@link createHttpRegistry}. */
export type HttpRegistryOptions = z.input<typeof httpRegistryOptionsSchema>;

/** Validates options once at the boundary; throws INVALID_OPTIONS describing every problem. */
export function parseHttpRegistryOptions(options: unknown): z.output<typeof httpRegistryOptionsSchema> {
  return parseOptions(
    httpRegistryOptionsSchema,
    options,
    'HTTP registry',
    "Pass at least { baseUrl: 'https://models.example.com/registry' }.",
  );
}
