import type { DescribeModelPackageCommandOutput } from '@aws-sdk/client-sagemaker';
import type { RemoteSources } from '../../platform/node/sources.js';
import { BASELINE_FILE, createBaselineReader, encodeBaseline, readPointer } from '../kit/baseline-metadata.js';
import { packageArtifact } from './packages.js';

/**
 * Customer metadata key naming the drift baseline: `{ file, sha256 }` as JSON, `file` relative to the folder of the
 * package's model archive (values hold 256 characters, so the baseline itself is an S3 object beside the archive).
 */
export const META_BASELINE = 'modelship:baseline';

/** The folder of `s3://bucket/…/model.tar.gz` (with the trailing slash). */
const folderOf = (uri: string): string => uri.slice(0, uri.lastIndexOf('/') + 1);

/** Uploads `baseline` beside the archive at `archiveUrl`; gives the customer metadata property that names it. */
export async function putBaseline(
  sources: RemoteSources,
  archiveUrl: string,
  baseline: unknown,
  signal?: AbortSignal,
): Promise<Record<string, string>> {
  const { bytes, pointer } = await encodeBaseline(baseline, BASELINE_FILE);
  await sources.put(`${folderOf(archiveUrl)}${BASELINE_FILE}`, bytes, 'application/json', {
    ...(signal === undefined ? {} : { signal }),
  });
  return { [META_BASELINE]: JSON.stringify(pointer) };
}

/** A package's stored baseline as `{ [BASELINE_METADATA_KEY]: baseline }` for its resolved metadata (or nothing). */
export function sagemakerBaselineReader(
  sources: RemoteSources,
): (p: DescribeModelPackageCommandOutput, signal?: AbortSignal) => Promise<Record<string, unknown>> {
  const read = createBaselineReader();
  return async (p, signal) => {
    const pointer = readPointer(p.CustomerMetadataProperties?.[META_BASELINE]);
    const artifact = packageArtifact(p);
    // A file name only: the pointer cannot lead outside the archive's folder.
    if (pointer === undefined || artifact === undefined || artifact.prefix || /[/\\]|^\.\.?$/.test(pointer.file))
      return {};
    return read(pointer, (file) =>
      sources.getBytes(`${folderOf(artifact.uri)}${file}`, signal === undefined ? {} : { signal }),
    );
  };
}
