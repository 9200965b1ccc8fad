import { parseGsUrl } from '../../clients/gcp/gcs.js';
import { ModelshipError } from '../../errors/index.js';
import type { ModelFile } from '../../platform/model-store.js';
import type {
  ModelVersionInfo,
  PublishedModel,
  RegistryAdapter,
  RegistryCallOptions,
  ResolvedModel,
  WatchListener,
} from '../../spec/registry.js';
import { defineRegistry } from '../kit/define-registry.js';
import type { PollWatchOptions } from '../kit/poll-ref.js';
import { createRemoteStore } from '../kit/remote-store.js';
import { withModelCache } from '../kit/with-model-cache.js';
import { toVersionInfo, type VertexModelJson } from './model-json.js';
import { publishToVertex, type VertexPublishInput } from './publish.js';
import { parseVertexRef, VERTEX_ALIAS, type VertexRef } from './ref.js';
import { createVertexApi, isNotFound } from './vertex-api.js';
import { parseVertexRegistryOptions, type VertexRegistryOptions } from './vertex-registry-options.js';

/** The Vertex AI Model Registry as a modelship registry. */
export interface VertexRegistry extends RegistryAdapter {
  readonly kind: 'vertex';
  /** Every version of a model (models.listVersions, all pages), oldest first. */
  listVersions(name: string, options?: RegistryCallOptions): Promise<ModelVersionInfo[]>;
  /** Uploads the file to `gs://`, registers it with models.upload (a new version under `parentModel`), sets its aliases. */
  publish(input: VertexPublishInput, options?: RegistryCallOptions): Promise<PublishedModel>;
  /** Points a version alias at a version (models.mergeVersionAliases; Vertex moves it from the version holding it). */
  setAlias(name: string, alias: string, version: string): Promise<void>;
  /** Removes a version alias (`-alias`); `default` can only be moved. */
  deleteAlias(name: string, alias: string): Promise<void>;
  /** Reports an alias (or the default version) moving to another version. */
  watch(ref: string, listener: WatchListener, options?: PollWatchOptions): () => void;
}

/**
 * Creates an adapter for the Vertex AI Model Registry. References: `vertex:<model>@<alias>`, `vertex:<model>@<versionId>`,
 * `vertex:<model>` (its `default` version), `vertex:<model>@latest`, and full resource names
 * `vertex:projects/<p>/locations/<l>/models/<model>@<alias>`. The model is the `.onnx` file under the version's
 * `artifactUri` (a `gs://` folder), checked against Cloud Storage's md5/crc32c and, in the cache, its sha256.
 * Credentials come from Application Default Credentials (`google-auth-library`, an optional peer).
 *
 * @example
 * ```ts
 * const registry = createVertexRegistry({ project: 'acme-ml', location: 'europe-west4' });
 * const model = await loadModel('vertex:fraud@production', { registry });
 * registry.watch('vertex:fraud@production', (next) => console.log('now version', next.version));
 * ```
 */
export function createVertexRegistry(options: VertexRegistryOptions = {}): VertexRegistry {
  const parsed = parseVertexRegistryOptions(options);
  const api = createVertexApi(parsed);
  const { store } = createRemoteStore(parsed);
  const identity = `vertex ${api.apiRoot} ${parsed.project ?? ''}/${api.location}`;

  const modelName = async (r: VertexRef): Promise<string> => `${await api.parent(r)}/models/${r.model}`;

  /** Turns a 404 on `name@selector` into the precise not-found code. */
  async function notFound(r: VertexRef, name: string, cause: unknown, signal?: AbortSignal): Promise<ModelshipError> {
    const missing = await api.modelMissing(name, signal);
    if (missing !== undefined || r.kind === 'default' || r.kind === 'latest')
      return missing ?? (cause as ModelshipError);
    const alias = r.kind === 'alias';
    return new ModelshipError(
      alias ? 'ALIAS_NOT_FOUND' : 'VERSION_NOT_FOUND',
      `Vertex AI model ${JSON.stringify(r.model)} has no ${alias ? 'alias' : 'version'} ${JSON.stringify(r.selector)}.`,
      { cause, details: { name: r.model, ...(alias ? { alias: r.selector } : { version: r.selector }) } },
    );
  }

  async function getVersion(r: VertexRef, signal?: AbortSignal): Promise<VertexModelJson> {
    const name = await modelName(r);
    if (r.kind === 'latest') {
      const all = await api.listVersions(name, signal).catch(async (error: unknown) => {
        throw isNotFound(error) ? ((await api.modelMissing(name, signal)) ?? error) : error;
      });
      const newest = all[all.length - 1];
      if (newest === undefined)
        throw (
          (await api.modelMissing(name, signal)) ??
          new ModelshipError('VERSION_NOT_FOUND', `Vertex AI model ${r.model} has no versions.`)
        );
      return newest;
    }
    const target = r.kind === 'default' ? name : `${name}@${r.selector ?? ''}`;
    try {
      return await api.get(target, signal);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      throw await notFound(r, name, error, signal);
    }
  }

  async function resolveOnline(ref: string, signal?: AbortSignal): Promise<ResolvedModel> {
    const m = await getVersion(parseVertexRef(ref), signal);
    const base = m.name.split('@')[0] as string;
    return {
      ...toVersionInfo(m),
      ref,
      location: `${base}@${m.versionId}`,
      versionRef: `vertex:${base}@${m.versionId}`,
    };
  }

  async function locate(model: ResolvedModel, signal?: AbortSignal): Promise<ModelFile> {
    const m = await api.get(model.location, signal).catch((error: unknown) => {
      throw isNotFound(error)
        ? new ModelshipError(
            'VERSION_NOT_FOUND',
            `Vertex AI model version ${model.name}@${model.version} no longer exists.`,
            { cause: error },
          )
        : error;
    });
    if (m.artifactUri === undefined || m.artifactUri === '')
      throw new ModelshipError(
        'MODEL_NOT_FOUND',
        `Vertex AI model ${model.name}@${model.version} has no artifactUri: it has no model file to load.`,
      );
    const where = parseGsUrl(m.artifactUri);
    if (where.object.endsWith('.onnx'))
      return api.gcs.modelFile(where, {
        ...(model.sha256 === undefined ? {} : { sha256: model.sha256 }),
        ...(signal === undefined ? {} : { signal }),
      });
    const folder = where.object === '' || where.object.endsWith('/') ? where.object : `${where.object}/`;
    const onnx = (await api.gcs.list(where.bucket, folder, signal)).filter((o) => o.name.endsWith('.onnx'));
    const picked =
      parsed.file === undefined
        ? onnx
        : onnx.filter((o) => o.name === `${folder}${parsed.file}` || o.name.endsWith(`/${parsed.file}`));
    if (picked.length !== 1)
      throw new ModelshipError(
        picked.length === 0 ? 'MODEL_NOT_FOUND' : 'INVALID_ARGUMENT',
        picked.length === 0
          ? `The artifactUri of ${model.name}@${model.version} holds no ${parsed.file ?? '.onnx file'}; publish an ONNX model.`
          : `The artifactUri of ${model.name}@${model.version} holds ${picked.length} .onnx files; choose one with createVertexRegistry({ file }).`,
        { details: { name: model.name, version: model.version } },
      );
    return api.gcs.modelFile(
      { bucket: where.bucket, object: (picked[0] as { name: string }).name },
      { ...(model.sha256 === undefined ? {} : { sha256: model.sha256 }), ...(signal === undefined ? {} : { signal }) },
    );
  }

  const assertAlias = (alias: string): void => {
    if (typeof alias !== 'string' || !VERTEX_ALIAS.test(alias) || alias === 'latest')
      throw new ModelshipError(
        'INVALID_ARGUMENT',
        `Invalid alias ${JSON.stringify(alias)}: Vertex aliases match [a-z][a-zA-Z0-9-]*[a-z0-9-] (at most 128 characters); "latest" means the newest version.`,
      );
  };

  async function merge(name: string, version: string, aliases: string[]): Promise<void> {
    await api.rest({
      method: 'POST',
      url: `${api.apiRoot}/v1/${name}@${version}:mergeVersionAliases`,
      body: { versionAliases: aliases },
      idempotent: true,
      what: 'merging version aliases',
    });
  }

  const driver = defineRegistry<VertexPublishInput>({
    kind: 'vertex',
    identity,
    parseRef: parseVertexRef,
    resolve: resolveOnline,
    locate,
    async listVersions(name, signal) {
      const r = parseVertexRef(name);
      const full = await modelName(r);
      const all = await api.listVersions(full, signal).catch(async (error: unknown) => {
        throw isNotFound(error) ? ((await api.modelMissing(full, signal)) ?? error) : error;
      });
      return all.map(toVersionInfo);
    },
    publish: async (input, callOptions) => {
      for (const a of input?.aliases ?? []) assertAlias(a);
      const published = await publishToVertex(api, parsed, input, callOptions);
      return published;
    },
    async setAlias(name, alias, version) {
      assertAlias(alias);
      const r = parseVertexRef(name);
      if (!/^[1-9]\d*$/.test(String(version)))
        throw new ModelshipError('INVALID_ARGUMENT', `Vertex version ids are numbers, got ${JSON.stringify(version)}.`);
      const full = await modelName(r);
      await merge(full, String(version), [alias]).catch(async (error: unknown) => {
        throw isNotFound(error)
          ? await notFound({ ...r, kind: 'version', selector: String(version) }, full, error)
          : error;
      });
    },
    async deleteAlias(name, alias) {
      assertAlias(alias);
      if (alias === 'default')
        throw new ModelshipError(
          'INVALID_ARGUMENT',
          'Vertex keeps a default version: move "default" with setAlias instead of removing it.',
        );
      const r = { ...parseVertexRef(name), kind: 'alias' as const, selector: alias };
      const holder = await getVersion(r);
      await merge(holder.name.split('@')[0] as string, holder.versionId, [`-${alias}`]);
    },
    watch: { intervalMs: parsed.watchIntervalMs ?? 60_000 },
  });

  return { ...withModelCache(driver, store, parsed), kind: 'vertex' } as VertexRegistry;
}
