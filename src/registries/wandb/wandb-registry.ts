import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ModelshipError } from '../../errors/index.js';
import type {
  ModelVersionInfo,
  PublishedModel,
  RegistryAdapter,
  RegistryCallOptions,
  ResolvedModel,
  WatchListener,
} from '../../spec/registry.js';
import { BASELINE_METADATA_KEY, createBaselineReader, readPointer } from '../kit/baseline-metadata.js';
import { defineRegistry } from '../kit/define-registry.js';
import type { PollWatchOptions } from '../kit/poll-ref.js';
import { createRemoteStore, httpClientSettings } from '../kit/remote-store.js';
import { withModelCache } from '../kit/with-model-cache.js';
import { WandbGraphqlError } from '../../clients/wandb/graphql.js';
import { createWandbClient } from '../../clients/wandb/wandb-client.js';
import { WANDB_DEFAULT_BASE_URL, wandbEnv } from '../../clients/wandb/settings.js';
import { publishToWandb, type WandbPublishInput } from './publish.js';
import {
  ADD_ALIASES,
  ARTIFACT_BY_NAME,
  ARTIFACT_COLLECTION,
  ARTIFACT_FILES,
  DELETE_ALIASES,
  type Connection,
  type WandbArtifact,
  type WandbFile,
} from './queries.js';
import { artifactName, parseWandbRef, type WandbRef } from './ref.js';
import { parseWandbRegistryOptions, type WandbRegistryOptions } from './wandb-registry-options.js';
import { toInfo } from './versions.js';

/** Weights & Biases artifacts (and registry collections) as a modelship registry. */
export interface WandbRegistry extends RegistryAdapter {
  readonly kind: 'wandb';
  /** The W&B server, without credentials. */
  readonly baseUrl: string;
  fetch(
    model: ResolvedModel,
    options?: RegistryCallOptions,
  ): Promise<{
    readonly kind: 'file';
    readonly path: string;
    /** Unpins the cached file (the cache may evict it after); call it once the file has been read. */
    readonly release: () => void;
  }>;
  /** Versions of `collection` or `project/collection` (or `entity/project/collection`), oldest first. */
  listVersions(name: string, options?: RegistryCallOptions): Promise<ModelVersionInfo[]>;
  /** Logs a `model` artifact version (create, upload file and manifest, commit) with aliases. */
  publish(input: WandbPublishInput, options?: RegistryCallOptions): Promise<PublishedModel>;
  /** Points `alias` at `version` (`v3`); W&B moves it off the version that had it. */
  setAlias(name: string, alias: string, version: string): Promise<void>;
  /** Removes an alias from the version that has it; the version stays. */
  deleteAlias(name: string, alias: string): Promise<void>;
  watch(ref: string, listener: WatchListener, options?: PollWatchOptions): () => void;
}

const PAGE = 100;

/** Streams a file's MD5 as base64, W&B's file digest. */
async function md5Base64(path: string): Promise<string> {
  const h = createHash('md5');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('base64');
}

/**
 * Creates an adapter for W&B artifacts over its public GraphQL API. References: `wandb:entity/project/name:alias`,
 * `wandb:entity/project/name:v3`, `wandb:entity/project/name` (the `latest` alias), and registry collections
 * `wandb:entity/wandb-registry-<registry>/<collection>:production`. Files are checked against W&B's base64 MD5,
 * then cached by sha256; a cached model keeps serving when W&B is unreachable. Credentials: `apiKey` or
 * `WANDB_API_KEY` (Basic `api:<key>`); server `baseUrl` or `WANDB_BASE_URL`; default entity `WANDB_ENTITY`.
 *
 * @example
 * ```ts
 * const registry = createWandbRegistry({ entity: 'acme', project: 'vision' });
 * const model = await loadModel('wandb:acme/vision/mnist:production', { registry });
 * registry.watch('wandb:acme/vision/mnist:production', (next) => console.log('alias moved to', next.version));
 * ```
 */
export function createWandbRegistry(options: WandbRegistryOptions = {}): WandbRegistry {
  const parsed = parseWandbRegistryOptions(options);
  const env = wandbEnv();
  const baseUrl = (parsed.baseUrl ?? env.baseUrl ?? WANDB_DEFAULT_BASE_URL).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/i.test(baseUrl))
    throw new ModelshipError(
      'INVALID_OPTIONS',
      'createWandbRegistry needs baseUrl (an http(s):// URL) or WANDB_BASE_URL.',
    );
  const apiKey = parsed.apiKey ?? env.apiKey;
  const entity = parsed.entity ?? env.entity;
  const project = parsed.project ?? env.project;
  const defaults = { entity, project };
  const wandb = createWandbClient({ ...httpClientSettings(parsed), baseUrl, apiKey });
  const { publicUrl, graphql: gql } = wandb;
  const { store, sources } = createRemoteStore(parsed);
  const parse = (ref: string): WandbRef => parseWandbRef(ref, defaults);
  const full = (r: Pick<WandbRef, 'entity' | 'project' | 'name'>): string => `${r.entity}/${r.project}/${r.name}`;
  const vars = (r: WandbRef, name: string): Record<string, unknown> => ({
    entityName: r.entity,
    projectName: r.project,
    name,
  });

  const mapGql = (error: unknown, code: 'MODEL_NOT_FOUND', message: string): never => {
    if (error instanceof WandbGraphqlError) {
      if (error.notFound) throw new ModelshipError(code, `${message} (W&B: ${error.message})`, { cause: error });
      throw new ModelshipError('REGISTRY_UNAVAILABLE', `W&B refused the request: ${error.message}`, {
        cause: error,
        retryable: false,
      });
    }
    throw error;
  };

  async function collection(
    r: WandbRef,
    signal?: AbortSignal,
    cursor?: string,
  ): Promise<{ artifacts: Connection<WandbArtifact> } | null> {
    try {
      const data = await gql<{
        project: { artifactCollection: { artifacts: Connection<WandbArtifact> } | null } | null;
      }>(ARTIFACT_COLLECTION, { ...vars(r, r.name), cursor: cursor ?? null, perPage: PAGE }, { signal });
      return data.project?.artifactCollection ?? null;
    } catch (error) {
      return mapGql(error, 'MODEL_NOT_FOUND', `W&B has no artifact ${full(r)}.`);
    }
  }

  const missingModel = (r: WandbRef): ModelshipError =>
    new ModelshipError(
      'MODEL_NOT_FOUND',
      `W&B has no artifact collection ${full(r)} at ${publicUrl}; check the entity, project and name.`,
      { details: { name: full(r) } },
    );

  async function resolveOnline(ref: string, signal?: AbortSignal): Promise<ResolvedModel> {
    const r = parse(ref);
    let artifact: WandbArtifact | null;
    try {
      const data = await gql<{ project: { artifact: WandbArtifact | null } | null }>(
        ARTIFACT_BY_NAME,
        vars(r, artifactName(r)),
        { signal },
      );
      artifact = data.project?.artifact ?? null;
    } catch (error) {
      if (!(error instanceof WandbGraphqlError && error.notFound))
        return mapGql(error, 'MODEL_NOT_FOUND', `W&B has no artifact ${full(r)}.`);
      artifact = null;
    }
    if (artifact === null) {
      if ((await collection(r, signal)) === null) throw missingModel(r);
      const s = r.selector;
      throw s.kind === 'version'
        ? new ModelshipError('VERSION_NOT_FOUND', `W&B artifact ${full(r)} has no version v${s.index}.`, {
            details: { name: full(r), version: `v${s.index}` },
          })
        : s.alias === 'latest'
          ? new ModelshipError('VERSION_NOT_FOUND', `W&B artifact ${full(r)} has no committed version yet.`, {
              details: { name: full(r) },
            })
          : new ModelshipError('ALIAS_NOT_FOUND', `W&B artifact ${full(r)} has no alias ${JSON.stringify(s.alias)}.`, {
              details: { name: full(r), alias: s.alias },
            });
    }
    const info = toInfo(artifact, r.name);
    const location = `wandb:${full(r)}:v${artifact.versionIndex}`;
    const { [BASELINE_METADATA_KEY]: pointer, ...metadata } = info.metadata;
    return {
      ...info,
      metadata: { ...metadata, ...(await readBaseline(readPointer(pointer), (f) => fileBytes(location, f, signal))) },
      ref,
      location,
      versionRef: `wandb:${full(r)}:v${artifact.versionIndex}`,
    };
  }

  async function listFiles(location: string, signal?: AbortSignal): Promise<WandbFile[]> {
    const r = parse(location);
    const files: WandbFile[] = [];
    let cursor: string | null = null;
    for (;;) {
      type Files = { project: { artifact: { files: Connection<WandbFile> } | null } | null };
      const data: Files = await gql<Files>(
        ARTIFACT_FILES,
        { ...vars(r, artifactName(r)), cursor, perPage: PAGE },
        { signal },
      ).catch((e: unknown) => mapGql(e, 'MODEL_NOT_FOUND', `W&B has no artifact ${location}.`));
      const page = data.project?.artifact?.files;
      if (page === undefined) throw new ModelshipError('MODEL_NOT_FOUND', `W&B no longer has ${location}.`);
      files.push(...page.edges.map((e) => e.node));
      if (page.pageInfo?.hasNextPage !== true || !page.pageInfo.endCursor) return files;
      cursor = page.pageInfo.endCursor;
    }
  }

  const readBaseline = createBaselineReader();
  /** A small file of the artifact (the drift baseline), by its signed URL. */
  async function fileBytes(location: string, name: string, signal?: AbortSignal): Promise<Uint8Array> {
    const url = (await listFiles(location, signal)).find((f) => f.name === name)?.directUrl;
    if (!url) throw new ModelshipError('MODEL_NOT_FOUND', `W&B has no file ${name} in ${location}.`);
    return sources.getBytes(url, signal === undefined ? {} : { signal });
  }

  function pick(files: WandbFile[], location: string): WandbFile {
    const onnx = files.filter((f) =>
      parsed.file === undefined ? f.name.toLowerCase().endsWith('.onnx') : f.name === parsed.file,
    );
    if (onnx.length === 1) return onnx[0] as WandbFile;
    const names = files.map((f) => f.name).join(', ') || 'no files';
    throw new ModelshipError(
      'UNSUPPORTED_MODEL_FORMAT',
      onnx.length === 0
        ? `${location} has no ${parsed.file ?? '.onnx file'} (it has ${names}).`
        : `${location} has several .onnx files (${names}); pass { file } to createWandbRegistry to choose one.`,
      { details: { files: files.map((f) => f.name) } },
    );
  }

  async function locate(
    model: ResolvedModel,
    signal?: AbortSignal,
  ): Promise<{ url: string; size?: number; verify: (path: string) => Promise<void> }> {
    const file = pick(await listFiles(model.location, signal), model.location);
    if (!file.directUrl)
      throw new ModelshipError(
        'REGISTRY_UNAVAILABLE',
        `W&B gave no download URL for ${file.name} of ${model.location}.`,
        { retryable: false },
      );
    const expected = file.digest ?? file.md5;
    return {
      url: file.directUrl,
      ...(typeof file.sizeBytes === 'number' ? { size: file.sizeBytes } : {}),
      // W&B records base64 MD5; check it before the file is admitted to the (sha256-addressed) cache.
      verify: async (path) => {
        if (expected === undefined) return;
        const actual = await md5Base64(path);
        if (actual !== expected) {
          throw new ModelshipError(
            'INTEGRITY_MISMATCH',
            `${file.name} of ${model.location} has MD5 ${actual}, but W&B recorded ${expected}. The download was discarded and nothing was loaded.`,
            {
              details: { file: file.name, expected, actual },
            },
          );
        }
      },
    };
  }

  async function aliasMutation(
    mutation: string,
    name: string,
    alias: string,
    artifactID: string | undefined,
    r: WandbRef,
  ): Promise<void> {
    await gql(
      mutation,
      {
        input: {
          ...(artifactID === undefined ? {} : { artifactID }),
          aliases: [{ entityName: r.entity, projectName: r.project, artifactCollectionName: r.name, alias }],
        },
      },
      { mutation: true },
    ).catch((e: unknown) => mapGql(e, 'MODEL_NOT_FOUND', `W&B has no artifact ${full(r)} (${name}).`));
  }

  const assertAlias = (alias: string): void => {
    if (typeof alias !== 'string' || !/^[\w.-]{1,128}$/.test(alias) || alias === 'latest' || /^v\d+$/.test(alias)) {
      throw new ModelshipError(
        'INVALID_ARGUMENT',
        `Invalid alias ${JSON.stringify(alias)}: use letters, digits, "_", "-" and "."; "latest" and "v<N>" are W&B's own.`,
      );
    }
  };

  const driver = defineRegistry<WandbPublishInput>({
    kind: 'wandb',
    identity: `wandb ${publicUrl}`,
    parseRef: parse,
    resolve: resolveOnline,
    locate,
    // Cache bookkeeping keys on the full location, so two projects with the same collection name never share.
    cacheName: (model) => model.location.replace(/:v\d+$/, ''),
    async listVersions(name, signal) {
      const r = parse(name);
      const all: WandbArtifact[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await collection(r, signal, cursor);
        if (page === null) throw missingModel(r);
        all.push(
          ...page.artifacts.edges.map((e) => e.node).filter((a) => a.state === undefined || a.state === 'COMMITTED'),
        );
        if (page.artifacts.pageInfo?.hasNextPage !== true || !page.artifacts.pageInfo.endCursor) break;
        cursor = page.artifacts.pageInfo.endCursor;
      }
      return all.sort((a, b) => a.versionIndex - b.versionIndex).map((a) => toInfo(a, r.name));
    },
    publish: (input, callOptions) => {
      if (entity === undefined)
        throw new ModelshipError(
          'INVALID_OPTIONS',
          'publish() needs the entity: pass { entity } to createWandbRegistry or set WANDB_ENTITY.',
        );
      return publishToWandb({ gql, sources, entity, project }, input, callOptions);
    },
    async setAlias(name, alias, version) {
      assertAlias(alias);
      const r = parse(`${name}:${version}`);
      const target = await resolveOnline(`${full(r)}:${version}`);
      await aliasMutation(ADD_ALIASES, name, alias, (target.metadata.wandb as { artifactId: string }).artifactId, r);
    },
    async deleteAlias(name, alias) {
      assertAlias(alias);
      const r = parse(`${name}:${alias}`);
      const target = await resolveOnline(`${full(r)}:${alias}`);
      await aliasMutation(DELETE_ALIASES, name, alias, (target.metadata.wandb as { artifactId: string }).artifactId, r);
    },
    watch: { intervalMs: parsed.watchIntervalMs ?? 30_000 },
  });
  return { ...withModelCache(driver, store, parsed), kind: 'wandb', baseUrl: publicUrl } as WandbRegistry;
}
