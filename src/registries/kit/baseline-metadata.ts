/**
 * Where a version's drift baseline travels: `publish({ baseline })` stores it in the version's metadata under
 * this key, and `loadModel` takes it out again (it is not shown as metadata) for `monitoring`. One helper for
 * every registry that records metadata as JSON.
 */
export const BASELINE_METADATA_KEY = 'modelship.baseline';

/** The metadata to record for a publish call: `metadata` plus the baseline, when one is given. */
export function metadataWithBaseline(
  metadata: Readonly<Record<string, unknown>> | undefined,
  baseline: unknown,
): Readonly<Record<string, unknown>> | undefined {
  return baseline === undefined ? metadata : { ...metadata, [BASELINE_METADATA_KEY]: baseline };
}

/** Splits resolved metadata into what the model shows and the stored baseline (undefined when none). */
export function takeBaseline(metadata: Readonly<Record<string, unknown>>): {
  metadata: Record<string, unknown>;
  baseline: unknown;
} {
  const { [BASELINE_METADATA_KEY]: baseline, ...rest } = metadata;
  return { metadata: rest, baseline };
}
