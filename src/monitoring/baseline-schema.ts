import { z } from 'zod';
import { ModelshipError } from '../errors/index.js';
import type { ModelSignature } from '../spec/tensor.js';
import { BASELINE_FORMAT, type Baseline } from './baseline.js';
import { featureNames } from './features.js';

const name = z.string().min(1).max(512);
const finite = z.number().finite();
const count = z.number().int().nonnegative();

const schema = z.object({
  format: z.literal(BASELINE_FORMAT),
  rows: z.number().int().positive(),
  createdAt: z.string().max(64),
  sources: z
    .array(
      z.object({
        tensor: name,
        role: z.enum(['input', 'output']),
        kind: z.enum(['numeric', 'categorical']),
        width: z.number().int().positive().max(1_000_000),
        summaries: z.boolean(),
        argmax: z.boolean(),
      }),
    )
    .min(1)
    .max(256),
  numeric: z
    .array(
      z.object({
        name,
        edges: z.array(finite).max(1000),
        counts: z.array(count).max(1001),
        quantiles: z.array(finite).max(101),
        mean: finite,
        std: finite,
      }),
    )
    .max(1_000_000),
  categorical: z
    .array(
      z.object({
        name,
        categories: z.array(z.string().max(1024)).max(1000),
        counts: z.array(count).max(1000),
        other: count,
      }),
    )
    .max(1_000_000),
});

function invalid(message: string, cause?: unknown): ModelshipError {
  return new ModelshipError(
    'INVALID_BASELINE',
    `${message} Rebuild it with createBaseline() from a sample of this model's inputs.`,
    cause === undefined ? {} : { cause },
  );
}

/**
 * Checks a baseline read from JSON (a registry artifact, a file) before it is trusted: the schema, that each
 * histogram has one count per bin with ascending edges, that its features are the ones its sources yield, and,
 * with `signature`, that every source is an input or output of the model. `INVALID_BASELINE` otherwise.
 *
 * @example
 * ```ts
 * const baseline = parseBaseline(JSON.parse(await readFile('baseline.json', 'utf8')), model.signature);
 * ```
 */
export function parseBaseline(value: unknown, signature?: ModelSignature): Baseline {
  const result = schema.safeParse(value);
  if (!result.success)
    throw invalid(
      `The baseline is not a ${BASELINE_FORMAT} baseline (${result.error.issues.length} problems).`,
      result.error,
    );
  const b = result.data as Baseline;
  const numeric: string[] = [];
  const categorical: string[] = [];
  for (const s of b.sources) {
    const names = featureNames(s);
    numeric.push(...names.numeric);
    categorical.push(...names.categorical);
  }
  if (numeric.length !== b.numeric.length || numeric.some((n, i) => b.numeric[i]?.name !== n))
    throw invalid("The baseline's numeric features do not match its sources.");
  if (categorical.length !== b.categorical.length || categorical.some((n, i) => b.categorical[i]?.name !== n))
    throw invalid("The baseline's categorical features do not match its sources.");
  for (const f of b.numeric) {
    if (f.counts.length !== f.edges.length + 1 || f.edges.some((e, i) => i > 0 && e <= (f.edges[i - 1] as number)))
      throw invalid(
        `Feature ${JSON.stringify(f.name)} of the baseline has edges that are not ascending or counts that do not match them.`,
      );
  }
  for (const f of b.categorical) {
    if (f.counts.length !== f.categories.length)
      throw invalid(
        `Feature ${JSON.stringify(f.name)} of the baseline has ${f.counts.length} counts for ${f.categories.length} categories.`,
      );
  }
  if (signature !== undefined) {
    for (const s of b.sources) {
      const specs = s.role === 'input' ? signature.inputs : signature.outputs;
      if (!specs.some((spec) => spec.name === s.tensor))
        throw invalid(`The baseline describes ${s.role} ${JSON.stringify(s.tensor)}, which this model does not have.`);
    }
  }
  return b;
}
