import type {
  ModelVersionInfo,
  PublishedModel,
  RegistryAdapter,
  RegistryCallOptions,
  ResolvedModel,
  WatchListener,
} from '../../spec/registry.js';
import { ModelshipError } from '../../errors/index.js';
import { maskCredentials, runGit } from '../../clients/git/git-runner.js';
import { defineRegistry } from '../kit/define-registry.js';
import type { PollWatchOptions } from '../kit/poll-ref.js';
import { createRemoteStore, httpClientSettings } from '../kit/remote-store.js';
import { createRemoteSources, type RemoteSources } from '../../platform/node/sources.js';
import { REMOTE_DEFAULTS } from '../kit/remote-options.js';
import { withModelCache } from '../kit/with-model-cache.js';
import { aliasNotFound } from '../errors.js';
import { createCloudRemotes } from './cloud-remotes.js';
import { describeVersion, type RemoteBaseOptions } from './describe-version.js';
import { parseDvcRegistryOptions, type DvcRegistryOptions } from './dvc-registry-options.js';
import { mirrorDir, openGitMirror, repoLocation } from './git-mirror.js';
import { createLfsLocator } from './lfs.js';
import { locateDvc, validateLocation } from './locate.js';
import { publishToDvc, type DvcPublishInput } from './publish.js';
import { parseDvcRef } from './ref.js';
import { moveStage } from './stages.js';

/** The DVC model registry (GTO tags in a Git repository) as a modelship registry. */
export interface DvcRegistry extends RegistryAdapter {
  readonly kind: 'dvc';
  fetch(
    model: ResolvedModel,
    options?: RegistryCallOptions,
  ): Promise<{
    readonly kind: 'file';
    readonly path: string;
    /** Unpins the cached file (the cache may evict it after); call it once the file has been read. */
    readonly release: () => void;
  }>;
  /** Every registered version (`name@v…` tags), oldest first, with the stages assigned to each. */
  listVersions(name: string, options?: RegistryCallOptions): Promise<ModelVersionInfo[]>;
  /** Pushes the model to the DVC remote, commits its `.dvc` file and annotation, tags `name@v…` and pushes. */
  publish(input: DvcPublishInput, options?: RegistryCallOptions): Promise<PublishedModel>;
  /** Assigns a stage (alias) to a version: GTO's `name#stage#N` tag. */
  setAlias(name: string, stage: string, version: string): Promise<void>;
  /** Unassigns a stage: GTO's `name#stage!#N` tag. */
  deleteAlias(name: string, stage: string): Promise<void>;
  /** Polls `git ls-remote` and reports a new version (`dvc:name`), or a stage moving (`dvc:name#prod`). */
  watch(ref: string, listener: WatchListener, options?: PollWatchOptions): () => void;
}

/**
 * Creates an adapter for DVC's model registry: a Git repository whose GTO tags register versions (`name@v1.2.3`)
 * and assign stages (`name#prod#N`), with each model's path annotated in `dvc.yaml` (`artifacts:`) or
 * `artifacts.yaml`. The file at a tag is a `.dvc` pointer (fetched from the DVC remote of `.dvc/config` and
 * checked against its md5), a Git LFS pointer (fetched through the LFS batch API) or a file kept in Git. The
 * repository is cloned (bare) into the cache with the real `git` binary and kept in step with `git ls-remote`.
 *
 * @example
 * ```ts
 * const registry = createDvcRegistry({ repo: 'git@github.com:acme/models.git' });
 * const model = await loadModel('dvc:fraud-detector#prod', { registry });
 * registry.watch('dvc:fraud-detector#prod', (next) => console.log('prod is now', next.version));
 * ```
 */
export function createDvcRegistry(options: DvcRegistryOptions): DvcRegistry {
  const parsed = parseDvcRegistryOptions(options);
  const { store, sources } = createRemoteStore(parsed);
  const location = repoLocation(parsed.repo);
  const mirror = openGitMirror(location, mirrorDir(store.root, location));
  const local = location.startsWith('/') ? location : undefined;
  // S3 endpoints named by .dvc/config (endpointurl), used when the registry's own `s3.endpoint` is not set.
  const endpoints = new Map<string, string>();
  const endpointSources = new Map<string, RemoteSources>();
  const cloud = createCloudRemotes(httpClientSettings(parsed), parsed, local);
  const sourcesFor = (url: string): RemoteSources | undefined => {
    const fromCloud = cloud.sources(url);
    if (fromCloud !== undefined) return fromCloud;
    if (parsed.s3?.endpoint !== undefined || !url.startsWith('s3://')) return undefined;
    const endpoint = [...endpoints].find(([base]) => url.startsWith(`${base.replace(/\/+$/, '')}/`))?.[1];
    if (endpoint === undefined) return undefined;
    let own = endpointSources.get(endpoint);
    if (own === undefined) {
      own = createRemoteSources(httpClientSettings(parsed), { ...parsed.s3, endpoint, forcePathStyle: true });
      endpointSources.set(endpoint, own);
    }
    return own;
  };
  const remote: RemoteBaseOptions = {
    ...(parsed.remote === undefined ? {} : { remote: parsed.remote }),
    ...(local === undefined ? {} : { localRepo: local }),
    learnEndpoint: (base, endpoint) => endpoints.set(base, endpoint),
    learnRemote: cloud.learn,
  };
  const lfs = createLfsLocator(mirror, location, parsed.lfs, httpClientSettings(parsed));

  let identityEnv: Promise<Record<string, string>> | undefined;
  const identity = (): Promise<Record<string, string>> =>
    (identityEnv ??= (async () => {
      const configured = parsed.author ?? (await configuredAuthor());
      const who = configured ?? { name: 'modelship', email: 'modelship@localhost' };
      return {
        GIT_AUTHOR_NAME: who.name,
        GIT_AUTHOR_EMAIL: who.email,
        GIT_COMMITTER_NAME: who.name,
        GIT_COMMITTER_EMAIL: who.email,
      };
    })());

  async function configuredAuthor(): Promise<{ name: string; email: string } | undefined> {
    const get = (key: string): Promise<string> =>
      runGit(['config', '--get', key], { what: 'reading git identity' }).then(
        (s) => s.trim(),
        () => '',
      );
    const [name, email] = await Promise.all([get('user.name'), get('user.email')]);
    return name !== '' && email !== '' ? { name, email } : undefined;
  }

  async function artifactOf(name: string, signal?: AbortSignal) {
    await mirror.sync(signal);
    const artifact = (await mirror.artifacts()).get(name);
    if (artifact === undefined || artifact.versions.length === 0)
      throw new ModelshipError(
        'MODEL_NOT_FOUND',
        `The model repository has no artifact ${JSON.stringify(name)}: no ${name}@v… tag. Register one with publish() or gto register.`,
        { details: { name } },
      );
    return artifact;
  }

  async function resolveOnline(ref: string, signal?: AbortSignal): Promise<ResolvedModel> {
    const r = parseDvcRef(ref);
    const artifact = await artifactOf(r.name, signal);
    let version;
    if (r.kind === 'latest') version = artifact.versions.at(-1);
    else if (r.kind === 'version') {
      version = artifact.versions.find((v) => v.version === r.version);
      if (version === undefined)
        throw new ModelshipError(
          'VERSION_NOT_FOUND',
          `Artifact ${JSON.stringify(r.name)} has no version ${r.version} (no tag ${r.name}@${r.version}); newest is ${artifact.versions.at(-1)?.version}.`,
          { details: { name: r.name, version: r.version } },
        );
    } else {
      const v = artifact.stages.get(r.stage);
      if (v === undefined) throw aliasNotFound(r.name, r.stage, Object.fromEntries(artifact.stages));
      version = artifact.versions.find((x) => x.version === v);
    }
    if (version === undefined)
      throw new ModelshipError('VERSION_NOT_FOUND', `Artifact ${JSON.stringify(r.name)} has no versions.`);
    return describeVersion(mirror, artifact, version, ref, remote, signal);
  }

  const driver = defineRegistry<DvcPublishInput>({
    kind: 'dvc',
    identity: `dvc ${maskCredentials(location)}`,
    parseRef: parseDvcRef,
    resolve: resolveOnline,
    validate: validateLocation,
    locate: async (model, signal) =>
      locateDvc(
        model,
        mirror,
        lfs,
        { sourcesFor, cloudFile: cloud.file, maxBytes: parsed.maxDownloadBytes ?? REMOTE_DEFAULTS.maxDownloadBytes },
        signal,
      ),
    async listVersions(name, signal) {
      const artifact = await artifactOf(parseDvcRef(name).name, signal);
      const all = await Promise.all(
        artifact.versions.map((v) =>
          describeVersion(mirror, artifact, v, `dvc:${artifact.name}@${v.version}`, remote, signal),
        ),
      );
      return all.map(({ ref: _r, location: _l, versionRef: _v, ...info }) => info);
    },
    publish: (input, callOptions) =>
      publishToDvc(
        {
          mirror,
          sources,
          sourcesFor,
          remote,
          identity,
          ...(parsed.branch === undefined ? {} : { branch: parsed.branch }),
        },
        input,
        callOptions,
      ),
    setAlias: async (name, stage, version) =>
      moveStage(mirror, parseDvcRef(name).name, stage, String(version), await identity()),
    deleteAlias: async (name, stage) => moveStage(mirror, parseDvcRef(name).name, stage, undefined, await identity()),
    watch: { intervalMs: parsed.watchIntervalMs ?? 60_000 },
  });
  return { ...withModelCache(driver, store, parsed), kind: 'dvc' } as DvcRegistry;
}
