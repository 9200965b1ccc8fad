import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { parseDocument } from 'yaml';
import { ModelshipError } from '../../errors/index.js';
import { writeFileAtomic } from '../../platform/node/fs-atomic.js';
import type { RemoteSources } from '../../platform/node/sources.js';
import type { PublishedModel, PublishInput, RegistryCallOptions } from '../../spec/registry.js';
import { invalidArgument } from '../errors.js';
import { dvcFileText, readAnnotation, remoteObjectPath, safeRepoPath, type DvcFileMeta } from './dvc-project.js';
import { parseLineage } from '../../lineage/schema.js';
import { BASELINE_FILE } from '../kit/baseline-metadata.js';
import { remoteBase, type RemoteBaseOptions } from './describe-version.js';
import type { GitMirror } from './git-mirror.js';
import { assignMessage, registerMessage } from './gto-tags.js';
import { isGtoName, nextVersion } from './ref.js';

/** What `publish` takes: the spec's input, plus where in the repository the model goes. */
export interface DvcPublishInput extends PublishInput {
  /** The model's path in the repository for a new artifact (default `models/<name>.onnx`); an existing artifact keeps its path. */
  readonly path?: string;
}

/** What publishing needs from the registry. */
export interface DvcPublishContext {
  readonly mirror: GitMirror;
  readonly sources: RemoteSources;
  /** The client for an S3 remote whose endpoint `.dvc/config` names, when it is not the registry's own. */
  readonly sourcesFor: (url: string) => RemoteSources | undefined;
  readonly remote: RemoteBaseOptions;
  readonly branch?: string;
  readonly identity: () => Promise<Record<string, string>>;
}

const PUSH_ATTEMPTS = 4;
const sha256Of = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** True when a push lost a race (a branch moved or a tag appeared meanwhile): worth rebuilding on the new state. */
function lostRace(error: unknown): boolean {
  const stderr = (error as ModelshipError).details?.stderr;
  return typeof stderr === 'string' && /rejected|failed to push|stale info|already exists/i.test(stderr);
}

/** Uploads `bytes` to the DVC remote at its content address, as `dvc push` does. */
async function pushObject(sources: RemoteSources, url: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (url.startsWith('/')) {
    await mkdir(dirname(url), { recursive: true });
    await writeFileAtomic(url, bytes);
    return;
  }
  await sources.put(url, bytes, 'application/octet-stream', signal === undefined ? {} : { signal });
}

/** The repository's files after adding `name`'s new version: the `.dvc` file, `.gitignore`, and the annotation. */
async function changedFiles(
  mirror: GitMirror,
  base: string | undefined,
  input: DvcPublishInput,
  md5: string,
  size: number,
  dvcMeta: DvcFileMeta,
  baseline: Uint8Array | undefined,
): Promise<{ files: Map<string, string>; path: string }> {
  const read = async (p: string): Promise<string | undefined> =>
    base === undefined ? undefined : (await mirror.read(base, p))?.toString('utf8');
  const [dvcYaml, artifactsYaml] = await Promise.all([read('dvc.yaml'), read('artifacts.yaml')]);
  const files = {
    ...(dvcYaml === undefined ? {} : { dvcYaml }),
    ...(artifactsYaml === undefined ? {} : { artifactsYaml }),
  };
  const existing = readAnnotation(input.name, files);
  const path = existing?.path ?? safeRepoPath(input.path ?? `models/${input.name}.onnx`, 'publish path');
  const inGto =
    artifactsYaml !== undefined &&
    readAnnotation(input.name, { artifactsYaml }) !== undefined &&
    existing !== undefined;
  const target = inGto ? 'artifacts.yaml' : 'dvc.yaml';
  const doc = parseDocument((inGto ? artifactsYaml : dvcYaml) ?? '');
  const at = inGto ? [input.name] : ['artifacts', input.name];
  const meta = input.metadata ?? {};
  doc.setIn([...at, 'path'], path);
  if (!doc.hasIn([...at, 'type'])) doc.setIn([...at, 'type'], 'model');
  if (Object.keys(meta).length > 0) doc.setIn([...at, inGto ? 'custom' : 'meta'], doc.createNode(meta));
  else doc.deleteIn([...at, inGto ? 'custom' : 'meta']);
  const out = new Map<string, string>([[target, doc.toString()]]);
  const file = posix.basename(path);
  const dir = posix.dirname(path);
  if (baseline !== undefined) out.set(`${path}.${BASELINE_FILE}`, new TextDecoder().decode(baseline));
  const pointer =
    baseline === undefined ? {} : { baseline: { file: `${path}.${BASELINE_FILE}`, sha256: sha256Of(baseline) } };
  out.set(`${path}.dvc`, dvcFileText(md5, size, file, { ...dvcMeta, ...pointer }));
  const ignorePath = dir === '.' ? '.gitignore' : `${dir}/.gitignore`;
  const ignore = (await read(ignorePath)) ?? '';
  if (!ignore.split(/\r?\n/).includes(`/${file}`))
    out.set(ignorePath, `${ignore}${ignore === '' || ignore.endsWith('\n') ? '' : '\n'}/${file}\n`);
  return { files: out, path };
}

/** Writes `files` over `base`'s tree and commits it, without a working tree (a temporary index). */
async function commitFiles(
  mirror: GitMirror,
  base: string | undefined,
  files: Map<string, string>,
  message: string,
  env: Record<string, string>,
): Promise<string> {
  const index = join(tmpdir(), `modelship-dvc-${randomUUID()}.index`);
  const e = { ...env, GIT_INDEX_FILE: index };
  try {
    if (base !== undefined) await mirror.git(['read-tree', base], 'preparing a commit', { env: e });
    for (const [path, text] of files) {
      const blob = (await mirror.git(['hash-object', '-w', '--stdin'], 'writing a file', { input: text })).trim();
      await mirror.git(['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], 'staging a file', {
        env: e,
      });
    }
    const tree = (await mirror.git(['write-tree'], 'writing a tree', { env: e })).trim();
    const parent = base === undefined ? [] : ['-p', base];
    return (await mirror.git(['commit-tree', tree, ...parent, '-m', message], 'committing', { env: e })).trim();
  } finally {
    await rm(index, { force: true });
  }
}

/**
 * Publishes a model as DVC and GTO do: the file goes to the DVC remote at its md5 address, a commit adds its `.dvc`
 * file, `.gitignore` entry and annotation on the branch, and the annotated tag `name@vX.Y.Z` (the next patch
 * version, `v0.0.1` first) plus a stage tag per alias are pushed atomically. A push that loses a race with another
 * publisher is rebuilt on the new state.
 */
export async function publishToDvc(
  ctx: DvcPublishContext,
  input: DvcPublishInput,
  callOptions: RegistryCallOptions | undefined,
): Promise<PublishedModel> {
  if (typeof input?.name !== 'string' || !isGtoName(input.name))
    throw invalidArgument(`Invalid artifact name ${JSON.stringify(input?.name)}: GTO names use a-z, 0-9, "-" and "/".`);
  for (const alias of input.aliases ?? [])
    if (!isGtoName(alias) || alias.includes('/'))
      throw invalidArgument(`Invalid stage ${JSON.stringify(alias)}: use a-z, 0-9 and "-".`);
  if ((input.file === undefined) === (input.bytes === undefined))
    throw invalidArgument('publish() needs exactly one of file or bytes.');
  const bytes = input.bytes ?? new Uint8Array(await readFile(input.file as string));
  if (input.file !== undefined && !(await stat(input.file)).isFile())
    throw invalidArgument('publish() file must be a file.');
  const md5 = createHash('md5').update(bytes).digest('hex');
  const sha256 = sha256Of(bytes);
  const lineage = input.lineage === undefined ? undefined : parseLineage(input.lineage);
  const meta: DvcFileMeta = { sha256, ...(lineage === undefined ? {} : { lineage }) };
  const baseline = input.baseline === undefined ? undefined : new TextEncoder().encode(JSON.stringify(input.baseline));
  const signal = callOptions?.signal;
  const env = await ctx.identity();
  const { mirror } = ctx;
  let pushed: string | undefined;
  for (let attempt = 1; ; attempt++) {
    await mirror.sync(signal);
    const branch = ctx.branch ?? (await mirror.defaultBranch());
    const base =
      (
        await mirror
          .git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`], 'reading the branch')
          .catch(() => '')
      ).trim() || undefined;
    const artifact = (await mirror.artifacts()).get(input.name);
    const version = nextVersion(artifact?.versions.at(-1)?.version);
    const remoteUrl = remoteObjectPath(await remoteBase(mirror, base, ctx.remote), md5, true);
    if (pushed !== remoteUrl) await pushObject(ctx.sourcesFor(remoteUrl) ?? ctx.sources, remoteUrl, bytes, signal);
    pushed = remoteUrl;
    const { files, path } = await changedFiles(mirror, base, input, md5, bytes.byteLength, meta, baseline);
    const commit = await commitFiles(mirror, base, files, `Register ${input.name} ${version} (${path})`, env);
    const tags = [`${input.name}@${version}`];
    await mirror.git(['tag', '-a', tags[0] as string, '-m', registerMessage(input.name, version), commit], 'tagging', {
      env,
    });
    let n = artifact?.lastStageNumber ?? 0;
    for (const stage of new Set(input.aliases ?? [])) {
      const tag = `${input.name}#${stage}#${++n}`;
      await mirror.git(['tag', '-a', tag, '-m', assignMessage(input.name, version, stage), commit], 'tagging', { env });
      tags.push(tag);
    }
    try {
      await mirror.git(
        [
          'push',
          '--atomic',
          '--quiet',
          'origin',
          `${commit}:refs/heads/${branch}`,
          ...tags.map((t) => `refs/tags/${t}`),
        ],
        'pushing the new version',
      );
    } catch (error) {
      await mirror.git(['tag', '-d', ...tags], 'dropping unpushed tags').catch(() => undefined);
      if (attempt < PUSH_ATTEMPTS && lostRace(error)) continue;
      if (lostRace(error))
        throw new ModelshipError(
          'ALREADY_EXISTS',
          `Another publisher kept moving ${branch} while ${input.name} was published; retry.`,
          {
            cause: error,
          },
        );
      throw error;
    }
    await mirror.git(['update-ref', `refs/heads/${branch}`, commit], 'recording the branch').catch(() => undefined);
    return {
      name: input.name,
      version,
      sha256,
      size: bytes.byteLength,
      aliases: [...new Set(input.aliases ?? [])].sort(),
      createdAt: new Date().toISOString(),
      metadata: { ...(input.metadata ?? {}) },
      ...(lineage === undefined ? {} : { lineage }),
    };
  }
}
