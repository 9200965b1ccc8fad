import { BASELINE_METADATA_KEY } from '../kit/baseline-metadata.js';
import { invalidArgument } from '../errors.js';

/** The drift baseline as JSON, split over `modelship.baseline.0`, `.1`, … (version tag values hold 5000 characters). */
export const TAG_BASELINE = 'modelship.baseline';
const PART = 5000;
/** 400 tags: 2 MB of JSON, ten times the 784-pixel MNIST baseline. */
const MAX_PARTS = 400;

/** The tags holding `baseline` (none without one); INVALID_ARGUMENT when it does not fit in 400 tags. */
export function baselineTags(baseline: unknown): { key: string; value: string }[] {
  if (baseline === undefined) return [];
  const chars = [...JSON.stringify(baseline)];
  if (chars.length > PART * MAX_PARTS)
    throw invalidArgument(
      `baseline is ${chars.length} characters as JSON; MLflow version tags hold at most ${PART * MAX_PARTS} of it. Build it with fewer bins or categories.`,
    );
  const parts: { key: string; value: string }[] = [];
  for (let i = 0; i * PART < chars.length; i++)
    parts.push({ key: `${TAG_BASELINE}.${i}`, value: chars.slice(i * PART, (i + 1) * PART).join('') });
  return parts;
}

/** `{ [BASELINE_METADATA_KEY]: baseline }` read back from a version's tags, or nothing (absent or damaged). */
export function readBaselineTags(tags: Readonly<Record<string, string>>): Record<string, unknown> {
  const parts: string[] = [];
  for (let i = 0; i < MAX_PARTS && tags[`${TAG_BASELINE}.${i}`] !== undefined; i++)
    parts.push(tags[`${TAG_BASELINE}.${i}`] as string);
  if (parts.length === 0) return {};
  try {
    // Checked against the model's signature when loaded (parseBaseline): here it only has to be JSON.
    return { [BASELINE_METADATA_KEY]: JSON.parse(parts.join('')) as unknown };
  } catch {
    return {};
  }
}
