import { parseLineage } from '../../lineage/schema.js';
import type { ModelLineage } from '../../spec/lineage.js';
import { BASELINE_FILE, createBaselineReader, encodeBaseline, readPointer } from '../kit/baseline-metadata.js';
import { invalidArgument } from '../errors.js';
import type { AzureMlApi, ModelVersionJson } from './azureml-api.js';

/** Version property holding the lineage as JSON (properties are immutable once the version is registered). */
export const LINEAGE_PROPERTY = 'modelship.lineage';
/**
 * Version property naming the drift baseline: `{ file, sha256 }` as JSON, `file` a blob name in the folder of the
 * version's model file (a baseline is hundreds of kB, too large for a property).
 */
export const BASELINE_PROPERTY = 'modelship.baseline';

/** Longest lineage JSON kept in one property. */
const MAX_LINEAGE_CHARS = 100_000;
/** Largest baseline blob read back. */
const MAX_BASELINE_BYTES = 64 * 1024 * 1024;

/** The validated lineage and the version property holding it (nothing when there is none). */
export function lineageProperty(lineage: unknown): { lineage?: ModelLineage; properties: Record<string, string> } {
  if (lineage === undefined) return { properties: {} };
  const parsed = parseLineage(lineage);
  const json = JSON.stringify(parsed);
  if (json.length > MAX_LINEAGE_CHARS)
    throw invalidArgument(
      `lineage is ${json.length} characters as JSON; an Azure ML version property keeps at most ${MAX_LINEAGE_CHARS} here. Record fewer data sets.`,
    );
  return { lineage: parsed, properties: { [LINEAGE_PROPERTY]: json } };
}

/** The lineage a version's properties hold, or undefined (absent or not a JSON object). */
export function lineageOf(properties: Readonly<Record<string, string>> | undefined): ModelLineage | undefined {
  const json = properties?.[LINEAGE_PROPERTY];
  if (json === undefined) return undefined;
  try {
    const value = JSON.parse(json) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as ModelLineage) : undefined;
  } catch {
    return undefined;
  }
}

/** The folder (with a trailing slash, or '') of a blob name: a model file's, or a folder model's own. */
const folderOf = (name: string): string =>
  name.endsWith('.onnx')
    ? name.slice(0, name.lastIndexOf('/') + 1)
    : name === '' || name.endsWith('/')
      ? name
      : `${name}/`;

/** Uploads `baseline` beside the model blob `modelPath` of `datastore`; gives the version property that names it. */
export async function putBaseline(
  api: AzureMlApi,
  datastore: string,
  modelPath: string,
  baseline: unknown,
  signal?: AbortSignal,
): Promise<Record<string, string>> {
  const { bytes, pointer } = await encodeBaseline(baseline, BASELINE_FILE);
  const loc = await api.datastoreBlob(api.base(), datastore, `${folderOf(modelPath)}${BASELINE_FILE}`, signal);
  await api.blobs.upload(loc, bytes, signal);
  return { [BASELINE_PROPERTY]: JSON.stringify(pointer) };
}

/**
 * Reads a version's stored baseline as `{ [BASELINE_METADATA_KEY]: baseline }` for its resolved metadata (or
 * nothing). The pointer must be a bare file name: it cannot lead outside the model's folder.
 */
export function azureMlBaselineReader(
  api: AzureMlApi,
): (v: ModelVersionJson, signal?: AbortSignal) => Promise<Record<string, unknown>> {
  const read = createBaselineReader();
  return async (v, signal) => {
    const pointer = readPointer(v.properties.properties?.[BASELINE_PROPERTY]);
    const uri = v.properties.modelUri;
    if (pointer === undefined || !uri || /[/\\]|^\.\.?$/.test(pointer.file)) return {};
    // Located only on a miss: a watch re-resolves every interval, and the reader keeps parsed baselines by sha256.
    return read(pointer, async (file) => {
      const loc = await api.blobOf(uri, signal);
      return api.blobs.read({ ...loc, name: `${folderOf(loc.name)}${file}` }, MAX_BASELINE_BYTES, signal);
    });
  };
}
