import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { ModelshipError } from '../../errors/index.js';
import type { ModelFile } from '../../platform/model-store.js';
import type { RemoteSources } from '../../platform/node/sources.js';
import type { ResolvedModel } from '../../spec/registry.js';
import type { GitMirror } from './git-mirror.js';

/** The md5 a DVC remote object's path names (`…/ab/cdef…`), or `undefined` for other locations. */
export function md5OfLocation(location: string): string | undefined {
  const m = /(?:^|\/)([0-9a-f]{2})\/([0-9a-f]{30})$/.exec(location);
  return m === null ? undefined : `${m[1]}${m[2]}`;
}

/** md5 of a file, streamed. */
export async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Checks a downloaded DVC object against the md5 DVC recorded, before the cache's sha256 takes over. */
export function verifyMd5(expected: string, what: string): (path: string) => Promise<void> {
  return async (path) => {
    const actual = await md5File(path);
    if (actual !== expected)
      throw new ModelshipError(
        'INTEGRITY_MISMATCH',
        `The DVC remote returned content with md5 ${actual.slice(0, 12)}… for ${what}, whose .dvc file records md5 ${expected.slice(0, 12)}…; it was discarded. Re-push the model (dvc push) or check the remote.`,
        { details: { expectedMd5: expected, actualMd5: actual } },
      );
  };
}

/** Throws unless `model.location` is one of the locations the DVC registry gives. */
export function validateLocation(model: ResolvedModel): void {
  const l = model.location;
  const ok =
    typeof l === 'string' &&
    (/^(git|lfs):[0-9a-f]{40,64}:[^\0]+$/.test(l) ||
      (md5OfLocation(l) !== undefined && /^(s3:\/\/|gs:\/\/|azure:\/\/|https?:\/\/|\/)/.test(l)));
  if (!ok)
    throw new ModelshipError(
      'INVALID_ARGUMENT',
      'This model was not resolved by the DVC registry; resolve it with the same registry first.',
    );
}

/** Where the cache gets a DVC-registered model: a remote object (md5-verified), a local remote file, or a Git blob. */
export function locateDvc(
  model: ResolvedModel,
  mirror: GitMirror,
  lfs: (model: ResolvedModel, signal?: AbortSignal) => Promise<ModelFile>,
  remote: {
    readonly sourcesFor: (url: string) => RemoteSources | undefined;
    /** gs:// and azure:// objects, through the GCS and blob clients (their own digests checked too). */
    readonly cloudFile?: (url: string, signal?: AbortSignal) => Promise<ModelFile> | undefined;
    readonly maxBytes: number;
  },
  signal?: AbortSignal,
): Promise<ModelFile> | ModelFile {
  const what = `${model.name} ${model.version}`;
  const l = model.location;
  const size = model.size === undefined ? {} : { size: model.size };
  if (l.startsWith('lfs:')) return lfs(model, signal);
  if (l.startsWith('git:')) {
    const spec = l.slice(4);
    return {
      url: `git:${spec}`,
      ...size,
      ...(model.sha256 === undefined ? {} : { sha256: model.sha256 }),
      fill: async (temp) => {
        const [commit = '', ...rest] = spec.split(':');
        const blob = await mirror.read(commit, rest.join(':'), signal);
        if (blob === undefined)
          throw new ModelshipError(
            'MODEL_NOT_FOUND',
            `The model file of ${what} is no longer in the repository's history.`,
          );
        await writeFile(temp, blob);
        return blob.byteLength;
      },
    };
  }
  const md5 = md5OfLocation(l) as string;
  if (l.startsWith('/'))
    return {
      url: `file://${l}`,
      ...size,
      verify: verifyMd5(md5, what),
      fill: async (temp) => {
        try {
          await copyFile(l, temp);
        } catch (error) {
          throw new ModelshipError(
            (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'MODEL_NOT_FOUND' : 'REGISTRY_UNAVAILABLE',
            `The DVC remote directory has no object for ${what} (md5 ${md5.slice(0, 12)}…); run dvc push in the model repository.`,
            { cause: error },
          );
        }
        return model.size ?? 0;
      },
    };
  const cloud = remote.cloudFile?.(l, signal);
  if (cloud !== undefined)
    return cloud.then((file) => ({
      ...file,
      ...size,
      verify: async (path: string) => {
        await file.verify?.(path);
        await verifyMd5(md5, what)(path);
      },
    }));
  // An S3 remote whose endpoint comes from .dvc/config (endpointurl) is read through its own client.
  const own = remote.sourcesFor(l);
  if (own !== undefined)
    return {
      url: l,
      ...size,
      verify: verifyMd5(md5, what),
      fill: async (temp) =>
        (await own.download(l, temp, { maxBytes: remote.maxBytes, ...(signal === undefined ? {} : { signal }) })).size,
    };
  return { url: l, ...size, verify: verifyMd5(md5, what) };
}
