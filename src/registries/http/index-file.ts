import { z } from 'zod';

/** File name of a model's index in an HTTP registry: `<baseUrl>/<name>/index.json`. */
export const HTTP_INDEX_FILE = 'index.json';

/** One version in an index. `file` is relative to the index (or an absolute http(s)/s3 URL). */
export const httpIndexVersionSchema = z.object({
  version: z.string().regex(/^[1-9][0-9]{0,15}$/, 'expected a version such as "3"'),
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits'),
  size: z.number().int().nonnegative(),
  createdAt: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

/** `<name>/index.json`: every version of one model and its aliases. */
export const httpIndexSchema = z.object({
  name: z.string(),
  versions: z.array(httpIndexVersionSchema),
  aliases: z.record(z.string(), z.string()).optional(),
});

/** A parsed index. */
export type HttpIndex = z.output<typeof httpIndexSchema>;
/** One version of a parsed index. */
export type HttpIndexVersion = z.output<typeof httpIndexVersionSchema>;
