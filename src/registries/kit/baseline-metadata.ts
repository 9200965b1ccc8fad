import { sha256Hex } from '../../core/digest.js';

/**
 * Where a version's drift baseline travels: `publish({ baseline })` stores it with the version, and a registry's
 * `resolve` hands it back in the version's metadata under this key; `loadModel` takes it out again (it is not
 * shown as metadata) for `monitoring`. The local registry keeps it in its metadata; MLflow, W&B and SageMaker
 * store it as a file beside the model ({@link BASELINE_FILE}) and record only a {@link BaselinePointer}.
 */
export const BASELINE_METADATA_KEY = 'modelship.baseline';

/** The baseline's file name beside the model (an MLflow artifact, a W&B artifact file, an S3 object). */
export const BASELINE_FILE = 'modelship-baseline.json';

/** What a registry records with the version (a tag, artifact metadata, customer metadata) to find the file again. */
export interface BaselinePointer {
  /** Where the file is, as the registry spells it (a name beside the model, an artifact proxy path). */
  readonly file: string;
  /** Lower-case hex sha256 of the file: a file replaced since is refused when loaded with monitoring. */
  readonly sha256: string;
}

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

/** The file to upload for `baseline` (JSON) and the pointer to record, given where the file will be. */
export async function encodeBaseline(
  baseline: unknown,
  file: string,
): Promise<{ bytes: Uint8Array; pointer: BaselinePointer }> {
  const bytes = new TextEncoder().encode(JSON.stringify(baseline));
  return { bytes, pointer: { file, sha256: await sha256Hex(bytes) } };
}

/** A pointer read back from a registry (a JSON string or an object); undefined when absent or not one. */
export function readPointer(value: unknown): BaselinePointer | undefined {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v) as unknown;
    } catch {
      return undefined;
    }
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const { file, sha256 } = v as Record<string, unknown>;
  return typeof file === 'string' && file !== '' && typeof sha256 === 'string' && /^[0-9a-f]{64}$/.test(sha256)
    ? { file, sha256 }
    : undefined;
}

/** Parsed baselines kept per reader: a watch re-resolves every interval and should not download them again. */
const MEMO_ENTRIES = 8;

/**
 * Reads stored baselines for one registry: `read(pointer, get)` downloads the file with `get` (once per sha256,
 * the last few kept) and gives `{ [BASELINE_METADATA_KEY]: baseline }` to spread into the resolved metadata. A file
 * whose digest or JSON is wrong is handed on as a value `parseBaseline` refuses (INVALID_BASELINE when loaded with
 * monitoring), so a model still loads without monitoring; download errors propagate as the registry's own.
 */
export function createBaselineReader(): (
  pointer: BaselinePointer | undefined,
  get: (file: string) => Promise<Uint8Array>,
) => Promise<Record<string, unknown>> {
  const memo = new Map<string, unknown>();
  return async (pointer, get) => {
    if (pointer === undefined) return {};
    let baseline = memo.get(pointer.sha256);
    if (baseline === undefined) {
      const bytes = await get(pointer.file);
      const actual = await sha256Hex(bytes);
      if (actual !== pointer.sha256) return { [BASELINE_METADATA_KEY]: { damaged: 'sha256 mismatch' } };
      try {
        baseline = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
      } catch {
        return { [BASELINE_METADATA_KEY]: { damaged: 'not JSON' } };
      }
      memo.set(pointer.sha256, baseline);
      if (memo.size > MEMO_ENTRIES) memo.delete(memo.keys().next().value as string);
    }
    return { [BASELINE_METADATA_KEY]: baseline };
  };
}
