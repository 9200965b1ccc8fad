import { z } from 'zod';
import { ModelshipError } from '../errors/index.js';
import type { ModelLineage } from '../spec/lineage.js';

const hex = (n: number): RegExp => new RegExp(`^[0-9a-f]{${n}}$`);

/** The shape of {@link ModelLineage}: strict, so a misspelt field is refused rather than silently lost. */
export const lineageSchema = z.strictObject({
  run: z
    .strictObject({
      runId: z.string().min(1),
      runKey: z.string().min(1).optional(),
      trackingUri: z.string().min(1),
      experimentId: z.string().optional(),
      url: z.string().optional(),
    })
    .optional(),
  git: z
    .strictObject({
      commit: z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'expected a full commit hash (40 or 64 hex digits)'),
      dirty: z.boolean(),
      branch: z.string().optional(),
    })
    .optional(),
  datasets: z
    .array(
      z.strictObject({
        path: z.string().min(1),
        sha256: z.string().regex(hex(64), 'expected 64 lower-case hex digits').optional(),
        size: z.number().int().nonnegative().optional(),
        files: z.number().int().nonnegative().optional(),
      }),
    )
    .optional(),
  dvc: z
    .array(
      z.strictObject({
        path: z.string().min(1),
        md5: z.string().regex(/^[0-9a-f]{32}(\.dir)?$/, 'expected a DVC md5 (32 hex digits, ".dir" for directories)'),
        size: z.number().int().nonnegative().optional(),
        source: z.string().min(1),
      }),
    )
    .optional(),
  lfs: z
    .array(
      z.strictObject({
        path: z.string().min(1),
        oid: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected "sha256:<64 hex digits>"'),
        size: z.number().int().nonnegative(),
      }),
    )
    .optional(),
});

/** Validates lineage passed to `publish`; INVALID_ARGUMENT listing every problem. */
export function parseLineage(value: unknown): ModelLineage {
  const result = lineageSchema.safeParse(value);
  if (result.success) return result.data;
  throw new ModelshipError(
    'INVALID_ARGUMENT',
    `Invalid lineage:\n${z.prettifyError(result.error)}\nBuild it with collectLineage(), or see docs/tracking.md.`,
    {
      cause: result.error,
      details: { issues: result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) },
    },
  );
}
