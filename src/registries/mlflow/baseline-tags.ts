import type { ModelVersionInfo } from '../../spec/registry.js';
import type { RemoteSources } from '../../platform/node/sources.js';
import { createBaselineReader, readPointer, type BaselinePointer } from '../kit/baseline-metadata.js';
import { proxyUrl } from './artifacts.js';
import type { MlflowModelVersion } from './versions.js';

/**
 * The version tag pointing at the drift baseline: `{ file, sha256 }` as JSON, `file` being the artifact proxy path
 * of `modelship-baseline.json`, uploaded beside the model by `publish({ baseline })`.
 */
export const TAG_BASELINE = 'modelship.baseline';

/** The baseline pointer of a version's tags, or undefined (absent or damaged). */
export function baselinePointer(
  tags: readonly { key: string; value?: string }[] | undefined,
): BaselinePointer | undefined {
  return readPointer(tags?.find((t) => t.key === TAG_BASELINE)?.value);
}

/**
 * Adds a version's stored baseline to its info (`metadata[BASELINE_METADATA_KEY]`; nothing without one), downloaded
 * through the artifact proxy with the tracking server's credentials.
 */
export function mlflowBaselineReader(
  sources: RemoteSources,
  trackingUri: string,
  auth: Readonly<Record<string, string>>,
): (info: ModelVersionInfo, mv: MlflowModelVersion, signal?: AbortSignal) => Promise<ModelVersionInfo> {
  const read = createBaselineReader();
  return async (info, mv, signal) => ({
    ...info,
    metadata: {
      ...info.metadata,
      ...(await read(baselinePointer(mv.tags), (file) =>
        sources.getBytes(proxyUrl(trackingUri, file), { headers: auth, ...(signal === undefined ? {} : { signal }) }),
      )),
    },
  });
}
