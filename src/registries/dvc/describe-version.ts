import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { ModelshipError } from '../../errors/index.js';
import { parseLfsPointer } from '../../core/lfs-pointer.js';
import { parseDvcLockOuts, parseDvcOuts, type DvcOut } from '../../lineage/dvc.js';
import type { ResolvedModel } from '../../spec/registry.js';
import { parseLineage } from '../../lineage/schema.js';
import { BASELINE_METADATA_KEY } from '../kit/baseline-metadata.js';
import {
  parseDvcConfig,
  pickRemote,
  readAnnotation,
  readDvcFileMeta,
  safeRepoPath,
  remoteObjectPath,
  type ArtifactAnnotation,
} from './dvc-project.js';
import type { GitMirror } from './git-mirror.js';
import { stagesOf, type GtoArtifact, type GtoVersion } from './gto-tags.js';

/** Where the DVC remote is, for a commit: a URL (`s3://`, `https://`) or an absolute directory. */
export interface RemoteBaseOptions {
  /** The registry's `remote` option: a remote name, or a URL / directory replacing the configured one. */
  readonly remote?: string;
  /** The repository's local path, when it is one (relative directory remotes are relative to its `.dvc/`). */
  readonly localRepo?: string;
  /** Told the `endpointurl` an S3 remote of `.dvc/config` names (MinIO, Ceph…), keyed by the remote's URL. */
  readonly learnEndpoint?: (remoteUrl: string, endpointUrl: string) => void;
  /** Told the settings of a gs:// or azure:// remote (its `.dvc/config` section), keyed by the remote's URL. */
  readonly learnRemote?: (remoteUrl: string, settings: ReadonlyMap<string, string>) => void;
}

/** `.dvc/config.local` of a local checkout (Git-ignored: where `dvc remote modify --local` puts secrets). */
async function localConfig(localRepo: string | undefined): Promise<string> {
  if (localRepo === undefined) return '';
  try {
    return await readFile(posix.join(localRepo, '.dvc', 'config.local'), 'utf8');
  } catch {
    return '';
  }
}

const isUrlOrPath = (s: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(s) || s.startsWith('/');

/** The DVC remote base at `commit`, from the `remote` option or `.dvc/config`; throws INVALID_OPTIONS when none. */
export async function remoteBase(
  mirror: GitMirror,
  commit: string | undefined,
  options: RemoteBaseOptions,
): Promise<string> {
  if (options.remote !== undefined && isUrlOrPath(options.remote)) return options.remote.replace(/^file:\/\//, '');
  const text = commit === undefined ? undefined : await mirror.read(commit, '.dvc/config');
  // DVC lays config.local over config: the parser merges repeated sections, the later keys winning.
  const remote =
    text === undefined
      ? undefined
      : pickRemote(parseDvcConfig(`${text.toString('utf8')}\n${await localConfig(options.localRepo)}`), options.remote);
  if (remote === undefined)
    throw new ModelshipError(
      'INVALID_OPTIONS',
      options.remote === undefined
        ? 'The model repository has no default DVC remote (.dvc/config core.remote); run `dvc remote add -d <name> <url>` there, or pass { remote: "s3://bucket/path" }.'
        : `The model repository's .dvc/config has no remote ${JSON.stringify(options.remote)}; pass a remote name it defines, or a remote URL.`,
    );
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(remote.url)) {
    if (/^(gdrive|ssh|hdfs|webdav|oss|webhdfs):/i.test(remote.url))
      throw new ModelshipError(
        'INVALID_OPTIONS',
        `The DVC remote ${JSON.stringify(remote.name)} uses ${remote.url.split(':')[0]}://, which modelship does not read yet; use an S3, GCS, Azure, HTTP or local-directory remote, or pass { remote } with one.`,
      );
    if (/^(gs|azure):/i.test(remote.url)) options.learnRemote?.(remote.url, remote.settings);
    if (remote.endpointUrl !== undefined) options.learnEndpoint?.(remote.url, remote.endpointUrl);
    return remote.url;
  }
  if (remote.url.startsWith('/')) return remote.url;
  if (options.localRepo === undefined)
    throw new ModelshipError(
      'INVALID_OPTIONS',
      `The DVC remote ${JSON.stringify(remote.name)} is a relative directory, which only means something in a local checkout; pass { remote: '/absolute/path' }.`,
    );
  return posix.join(options.localRepo, '.dvc', remote.url);
}

/** The drift baseline committed beside the model, checked against the sha256 recorded with the version. */
async function readBaseline(
  mirror: GitMirror,
  commit: string,
  pointer: { readonly file: string; readonly sha256: string },
  signal?: AbortSignal,
): Promise<unknown> {
  const bytes = await mirror.read(commit, safeRepoPath(pointer.file, 'the .dvc meta baseline'), signal);
  if (bytes === undefined || createHash('sha256').update(bytes).digest('hex') !== pointer.sha256)
    throw new ModelshipError(
      'INTEGRITY_MISMATCH',
      `The drift baseline ${pointer.file} is missing or differs from the sha256 recorded with the version; publish the version again.`,
    );
  return JSON.parse(bytes.toString('utf8')) as unknown;
}

function pickOut(outs: readonly DvcOut[], file: string): DvcOut | undefined {
  return outs.find((o) => o.path === file) ?? (outs.length === 1 ? outs[0] : undefined);
}

/**
 * What one version is: its annotation at the tag's commit, then the model file — a `.dvc` file or `dvc.lock`
 * entry (md5 on the DVC remote), a Git LFS pointer (sha256 on the LFS server), or a file kept in Git itself.
 * `location` is the remote object's URL or directory path, `lfs:<commit>:<path>` or `git:<commit>:<path>`.
 */
export async function describeVersion(
  mirror: GitMirror,
  artifact: GtoArtifact,
  v: GtoVersion,
  ref: string,
  options: RemoteBaseOptions,
  signal?: AbortSignal,
): Promise<ResolvedModel> {
  const [dvcYaml, artifactsYaml] = await Promise.all([
    mirror.read(v.commit, 'dvc.yaml', signal),
    mirror.read(v.commit, 'artifacts.yaml', signal),
  ]);
  const annotation: ArtifactAnnotation | undefined = readAnnotation(artifact.name, {
    ...(dvcYaml === undefined ? {} : { dvcYaml: dvcYaml.toString('utf8') }),
    ...(artifactsYaml === undefined ? {} : { artifactsYaml: artifactsYaml.toString('utf8') }),
  });
  if (annotation === undefined)
    throw new ModelshipError(
      'MODEL_NOT_FOUND',
      `Tag ${v.tag} has no annotation for ${JSON.stringify(artifact.name)} (dvc.yaml artifacts: or artifacts.yaml) saying where the model file is; add one with its path and tag again.`,
      { details: { name: artifact.name, version: v.version } },
    );
  const common = {
    name: artifact.name,
    version: v.version,
    aliases: stagesOf(artifact, v.version),
    metadata: { ...annotation.meta },
    createdAt: v.createdAt,
    ref,
    versionRef: `dvc:${artifact.name}@${v.version}`,
  };
  const file = posix.basename(annotation.path);
  const pointer = await mirror.read(v.commit, `${annotation.path}.dvc`, signal);
  let out =
    pointer === undefined ? undefined : pickOut(parseDvcOuts(pointer.toString('utf8'), `${annotation.path}.dvc`), file);
  if (out === undefined && pointer === undefined) {
    const lock = await mirror.read(v.commit, 'dvc.lock', signal);
    if (lock !== undefined)
      out = parseDvcLockOuts(lock.toString('utf8'), 'dvc.lock').find((o) => o.path === annotation.path);
  }
  if (pointer !== undefined && out === undefined)
    throw new ModelshipError(
      'UNSUPPORTED_MODEL_FORMAT',
      `${annotation.path}.dvc at ${v.tag} has no md5 output for ${file}; re-add the model with dvc add.`,
      { details: { name: artifact.name, version: v.version } },
    );
  if (out !== undefined) {
    const base = await remoteBase(mirror, v.commit, options);
    const meta = pointer === undefined ? {} : readDvcFileMeta(pointer.toString('utf8'));
    const baseline =
      meta.baseline === undefined ? undefined : await readBaseline(mirror, v.commit, meta.baseline, signal);
    return {
      ...common,
      metadata: baseline === undefined ? common.metadata : { ...common.metadata, [BASELINE_METADATA_KEY]: baseline },
      ...(meta.sha256 === undefined ? {} : { sha256: meta.sha256 }),
      ...(meta.lineage === undefined ? {} : { lineage: parseLineage(meta.lineage) }),
      ...(out.size === undefined ? {} : { size: out.size }),
      location: remoteObjectPath(base, out.md5, out.hash === 'md5'),
    };
  }
  const sizeText = await mirror
    .git(['cat-file', '-s', `${v.commit}:${annotation.path}`], 'reading a file size')
    .catch(() => undefined);
  if (sizeText === undefined)
    throw new ModelshipError(
      'MODEL_NOT_FOUND',
      `${JSON.stringify(annotation.path)} is neither in Git nor tracked by DVC at ${v.tag}; commit its .dvc file (dvc add) and tag again.`,
      { details: { name: artifact.name, version: v.version } },
    );
  const size = Number(sizeText.trim());
  if (size <= 1024) {
    const blob = (await mirror.read(v.commit, annotation.path, signal)) ?? Buffer.alloc(0);
    const lfs = parseLfsPointer(blob.toString('utf8'));
    if (lfs !== undefined)
      return {
        ...common,
        size: lfs.size,
        sha256: lfs.oid.slice('sha256:'.length),
        location: `lfs:${v.commit}:${annotation.path}`,
      };
    return {
      ...common,
      size,
      sha256: createHash('sha256').update(blob).digest('hex'),
      location: `git:${v.commit}:${annotation.path}`,
    };
  }
  return { ...common, size, location: `git:${v.commit}:${annotation.path}` };
}
