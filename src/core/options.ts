import { z } from 'zod';
import { ModelshipError } from '../errors/index.js';

/**
 * Validates options once at a public boundary. Failures are INVALID_OPTIONS listing every problem (zod's
 * report), with the issues as structured details and an optional hint saying what a valid call looks like.
 */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, what: string, hint?: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  throw new ModelshipError(
    'INVALID_OPTIONS',
    `Invalid ${what} options:\n${z.prettifyError(result.error)}${hint ? `\n${hint}` : ''}`,
    {
      cause: result.error,
      details: { issues },
    },
  );
}
