import type { DescribeModelPackageCommandOutput } from '@aws-sdk/client-sagemaker';
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { ModelshipError } from '../../errors/index.js';
import type { ResolvedModel } from '../../spec/registry.js';
import { extractTarGz, type ExtractedFile } from '../../platform/node/tar-extract.js';
import type { ModelFile } from '../../platform/model-store.js';
import { packageArtifact } from './packages.js';
import type { parseSageMakerRegistryOptions } from './sagemaker-registry-options.js';

/** The registry options that choose the model file and bound the archive's extraction. */
export type ModelArchiveOptions = Pick<
  ReturnType<typeof parseSageMakerRegistryOptions>,
  'file' | 'maxArchiveBytes' | 'maxArchiveEntries' | 'maxArchiveRatio'
>;

/**
 * Where a described package's model file is: the `.onnx` under an uncompressed S3 prefix, the artifact itself, or the
 * chosen `.onnx` of its `model.tar.gz` (a `fill` that extracts it into the store's temp file).
 */
export function packageModelFile(
  p: DescribeModelPackageCommandOutput,
  model: ResolvedModel,
  options: ModelArchiveOptions,
): ModelFile {
  const artifact = packageArtifact(p);
  if (artifact === undefined)
    throw new ModelshipError(
      'UNSUPPORTED_MODEL_FORMAT',
      `Model package ${model.location} has no ModelDataUrl or S3DataSource to load.`,
    );
  const label = `${model.name}/${model.version} (${artifact.uri.replace(/[?#].*$/, '')})`;
  if (artifact.prefix) {
    // An uncompressed S3 prefix: the model file sits under it.
    return { url: `${artifact.uri.replace(/\/+$/, '')}/${options.file ?? 'model.onnx'}` };
  }
  if (!artifact.compressed) return { url: artifact.uri };
  return { url: artifact.uri, fill: (temp, download) => fillFromArchive(temp, download, label, options) };
}

/** Downloads the archive next to `temp`, extracts it beside it, and moves the chosen `.onnx` into `temp`. */
async function fillFromArchive(
  temp: string,
  download: (dest: string) => Promise<number>,
  label: string,
  options: ModelArchiveOptions,
): Promise<number> {
  const archive = `${temp}.tar.gz`;
  const dir = `${temp}.d-${randomBytes(4).toString('hex')}`;
  try {
    const size = await download(archive);
    await mkdir(dir);
    // Only the candidates for the model are written; the rest of the archive is read past (the cached blob is one file).
    const skipped: string[] = [];
    const files = await extractTarGz(
      archive,
      dir,
      {
        ...(options.maxArchiveBytes === undefined ? {} : { maxBytes: options.maxArchiveBytes }),
        ...(options.maxArchiveEntries === undefined ? {} : { maxEntries: options.maxArchiveEntries }),
        ...(options.maxArchiveRatio === undefined ? {} : { maxRatio: options.maxArchiveRatio }),
        select: (name) => isCandidate(name, options.file),
        onSkip: (name) => skipped.push(name),
      },
      label,
    );
    await rename(pickOnnx(files, skipped, label, options.file).path, temp);
    return size;
  } finally {
    await Promise.all([rm(archive, { force: true }), rm(dir, { recursive: true, force: true })]);
  }
}

function isCandidate(name: string, wanted: string | undefined): boolean {
  return wanted === undefined ? name.toLowerCase().endsWith('.onnx') : name === wanted || name.endsWith(`/${wanted}`);
}

function pickOnnx(
  files: readonly ExtractedFile[],
  skipped: readonly string[],
  label: string,
  wanted: string | undefined,
): ExtractedFile {
  const hits = files.filter((f) => isCandidate(f.name, wanted));
  if (hits.length === 1) return hits[0] as ExtractedFile;
  const names = [...files.map((f) => f.name), ...skipped].slice(0, 20).join(', ') || 'no files';
  throw new ModelshipError(
    'UNSUPPORTED_MODEL_FORMAT',
    hits.length === 0
      ? `${label} has no ${wanted ?? '.onnx file'} (it has ${names}).`
      : `${label} has several .onnx files (${names}); pass { file } to createSageMakerRegistry to choose one.`,
    { details: { files: [...files.map((f) => f.name), ...skipped].slice(0, 100) } },
  );
}
