import { isArmNotFound } from '../../clients/azure/arm-rest.js';
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
import { createAzureMlApi, type ModelContainerJson, type ModelVersionJson } from './azureml-api.js';
import { azureMlBaselineReader } from './azureml-baseline.js';
import { parseAzureMlRegistryOptions, type AzureMlRegistryOptions } from './azureml-registry-options.js';
import { ALIAS_TAG, compareVersions, toVersionInfo } from './model-json.js';
import { assertAlias, publishToAzureMl, putAliasTags, type AzureMlPublishInput } from './publish.js';
import { parseAzureMlRef, type AzureMlRef } from './ref.js';

/** An Azure Machine Learning workspace (or registry) model catalogue as a modelship registry. */
export interface AzureMlRegistry extends RegistryAdapter {
  readonly kind: 'azureml';
  /** Every version of a model (ARM list, every `nextLink` page), oldest first. */
  listVersions(name: string, options?: RegistryCallOptions): Promise<ModelVersionInfo[]>;
  /** Uploads the file to the workspace datastore, registers the next version, points the aliases at it. */
  publish(input: AzureMlPublishInput, options?: RegistryCallOptions): Promise<PublishedModel>;
  /** Points an alias at a version: one write of the model's tag `modelship.alias.<alias>`. */
  setAlias(name: string, alias: string, version: string): Promise<void>;
  /** Removes an alias tag; the version stays. */
  deleteAlias(name: string, alias: string): Promise<void>;
  /** Reports an alias (or `latest`) moving to another version. */
  watch(ref: string, listener: WatchListener, options?: PollWatchOptions): () => void;
}

type NamedRef = Exclude<AzureMlRef, { kind: 'datastore' }>;

/**
 * Creates an adapter for Azure Machine Learning models over the ARM REST API. References: `azureml:<name>:<version>`,
 * `azureml:<name>@<alias>`, `azureml:<name>@latest` and `azureml:<name>` (the newest version),
 * `azureml://registries/<r>/models/<m>/versions/<v>`, and datastore file URIs
 * `azureml://subscriptions/<s>/resourcegroups/<g>/workspaces/<w>/datastores/<d>/paths/<file>.onnx`. Aliases are
 * model tags `modelship.alias.<alias>` = `<version>`. Files come from blob storage through `@azure/storage-blob`,
 * checked against the blob's Content-MD5 and, in the cache, the sha256 recorded at publish. Credentials:
 * `DefaultAzureCredential` (`@azure/identity`) unless `credential` is given.
 *
 * @example
 * ```ts
 * const registry = createAzureMlRegistry({ subscriptionId, resourceGroup: 'ml', workspace: 'prod-ws' });
 * const model = await loadModel('azureml:fraud@production', { registry });
 * registry.watch('azureml:fraud@production', (next) => console.log('now version', next.version));
 * ```
 */
export function createAzureMlRegistry(options: AzureMlRegistryOptions = {}): AzureMlRegistry {
  const parsed = parseAzureMlRegistryOptions(options);
  const api = createAzureMlApi(parsed);
  const readBaseline = azureMlBaselineReader(api);
  const { store } = createRemoteStore(parsed);
  const identity = `azureml ${api.base()}`;

  async function container(base: string, name: string, signal?: AbortSignal): Promise<ModelContainerJson> {
    return api.getContainer(base, name, signal).catch((error: unknown) => {
      throw isArmNotFound(error)
        ? new ModelshipError('MODEL_NOT_FOUND', `Azure ML has no model ${JSON.stringify(name)} here.`, {
            cause: error,
            details: { name },
          })
        : error;
    });
  }

  async function versionOf(r: NamedRef, base: string, c: ModelContainerJson, signal?: AbortSignal): Promise<string> {
    if (r.kind === 'version') return r.selector as string;
    if (r.kind === 'alias') {
      const v = c.properties.tags?.[`${ALIAS_TAG}${r.selector as string}`];
      if (v === undefined || v === '')
        throw new ModelshipError(
          'ALIAS_NOT_FOUND',
          `Azure ML model ${JSON.stringify(r.name)} has no alias ${JSON.stringify(r.selector)} (model tag ${ALIAS_TAG}${r.selector as string}).`,
          { details: { name: r.name, alias: r.selector } },
        );
      return v;
    }
    // `latest`: Azure ML keeps latestVersion on the model; an older API version may omit it, so fall back to the list.
    const latest =
      c.properties.latestVersion ??
      (await api.listVersions(base, r.name, signal))
        .map((v) => v.name)
        .sort(compareVersions)
        .pop();
    if (latest === undefined || latest === null)
      throw new ModelshipError('VERSION_NOT_FOUND', `Azure ML model ${JSON.stringify(r.name)} has no versions.`, {
        details: { name: r.name },
      });
    return latest;
  }

  async function resolveNamed(ref: string, r: NamedRef, signal?: AbortSignal): Promise<ResolvedModel> {
    const base = api.base(r.registry);
    const c = await container(base, r.name, signal);
    const version = await versionOf(r, base, c, signal);
    let v: ModelVersionJson;
    try {
      v = await api.getVersion(base, r.name, version, signal);
    } catch (error) {
      if (!isArmNotFound(error)) throw error;
      throw new ModelshipError(
        'VERSION_NOT_FOUND',
        `Azure ML model ${JSON.stringify(r.name)} has no version ${JSON.stringify(version)}${r.kind === 'alias' ? ` (alias ${r.selector as string} points at it)` : ''}.`,
        { cause: error, details: { name: r.name, version } },
      );
    }
    if (!v.properties.modelUri)
      throw new ModelshipError('MODEL_NOT_FOUND', `Azure ML model ${r.name}:${version} has no modelUri to load.`);
    const info = toVersionInfo(r.name, v, c);
    return {
      ...info,
      metadata: { ...info.metadata, ...(await readBaseline(v, signal)) },
      ref,
      location: v.properties.modelUri,
      versionRef:
        r.registry !== undefined
          ? `azureml://registries/${r.registry}/models/${r.name}/versions/${v.name}`
          : `azureml:${r.name}:${v.name}`,
    };
  }

  async function resolveOnline(ref: string, signal?: AbortSignal): Promise<ResolvedModel> {
    const r = parseAzureMlRef(ref);
    if (r.kind !== 'datastore') return resolveNamed(ref, r, signal);
    const loc = await api.blobOf(ref, signal);
    const info = await api.blobs.stat(loc, signal);
    // A plain datastore file has no registry version: its ETag is the version (it changes with every overwrite).
    return {
      name: r.name,
      version: info.etag.replace(/"/g, ''),
      size: info.size,
      aliases: [],
      metadata: info.md5 === undefined ? {} : { contentMd5: info.md5 },
      ref,
      location: ref,
    };
  }

  async function locate(model: ResolvedModel, signal?: AbortSignal): Promise<ModelFile> {
    const loc = await api.blobOf(model.location, signal);
    const sha = model.sha256 === undefined ? {} : { sha256: model.sha256 };
    const sig = signal === undefined ? {} : { signal };
    if (loc.name.endsWith('.onnx')) return api.blobs.modelFile(loc, { ...sha, ...sig });
    // A folder model (custom_model registered from a directory): pick its .onnx file.
    const folder = loc.name === '' || loc.name.endsWith('/') ? loc.name : `${loc.name}/`;
    const onnx = (await api.blobs.list({ ...loc, name: folder }, signal)).filter((n) => n.endsWith('.onnx'));
    const picked = parsed.file === undefined ? onnx : onnx.filter((n) => n === `${folder}${parsed.file}`);
    if (picked.length !== 1)
      throw new ModelshipError(
        picked.length === 0 ? 'MODEL_NOT_FOUND' : 'INVALID_ARGUMENT',
        picked.length === 0
          ? `Azure ML model ${model.name}:${model.version} holds no ${parsed.file ?? '.onnx file'}; register an ONNX model.`
          : `Azure ML model ${model.name}:${model.version} holds ${picked.length} .onnx files; choose one with createAzureMlRegistry({ file }).`,
        { details: { name: model.name, version: model.version } },
      );
    return api.blobs.modelFile({ ...loc, name: picked[0] as string }, { ...sha, ...sig });
  }

  function ownModel(name: string): NamedRef {
    const r = parseAzureMlRef(name);
    if (r.kind === 'datastore') throw new ModelshipError('INVALID_ARGUMENT', 'Pass a model name, not a datastore URI.');
    if (r.registry !== undefined || api.isRegistry)
      throw new ModelshipError(
        'INVALID_OPTIONS',
        'Aliases are set on workspace models here; Azure ML registry models are read-only to modelship.',
      );
    return r;
  }

  const driver = defineRegistry<AzureMlPublishInput>({
    kind: 'azureml',
    identity,
    parseRef: parseAzureMlRef,
    resolve: resolveOnline,
    locate,
    validate(model) {
      if (typeof model?.location !== 'string' || !/^(azureml:\/\/|https:\/\/)/.test(model.location))
        throw new ModelshipError('INVALID_ARGUMENT', 'This model was not resolved by an Azure ML registry.');
    },
    async listVersions(name, signal) {
      const r = parseAzureMlRef(name);
      if (r.kind === 'datastore') throw new ModelshipError('INVALID_ARGUMENT', 'Datastore files have no versions.');
      const base = api.base(r.registry);
      const c = await container(base, r.name, signal);
      const all = await api.listVersions(base, r.name, signal);
      return all.map((v) => toVersionInfo(r.name, v, c)).sort((a, b) => compareVersions(a.version, b.version));
    },
    publish: (input, callOptions) => publishToAzureMl(api, parsed, input, callOptions),
    async setAlias(name, alias, version) {
      assertAlias(alias);
      const r = ownModel(name);
      if (typeof version !== 'string' || version === '')
        throw new ModelshipError('INVALID_ARGUMENT', `setAlias needs a version, got ${JSON.stringify(version)}.`);
      const c = await container(api.base(), r.name);
      await api.getVersion(api.base(), r.name, version).catch((error: unknown) => {
        throw isArmNotFound(error)
          ? new ModelshipError(
              'VERSION_NOT_FOUND',
              `Azure ML model ${r.name} has no version ${JSON.stringify(version)}.`,
              {
                cause: error,
              },
            )
          : error;
      });
      await putAliasTags(api, r.name, c, (tags) => (tags[`${ALIAS_TAG}${alias}`] = version));
    },
    async deleteAlias(name, alias) {
      assertAlias(alias);
      const r = ownModel(name);
      const c = await container(api.base(), r.name);
      if (c.properties.tags?.[`${ALIAS_TAG}${alias}`] === undefined)
        throw new ModelshipError('ALIAS_NOT_FOUND', `Azure ML model ${r.name} has no alias ${JSON.stringify(alias)}.`);
      await putAliasTags(api, r.name, c, (tags) => delete tags[`${ALIAS_TAG}${alias}`]);
    },
    watch: { intervalMs: parsed.watchIntervalMs ?? 60_000 },
  });

  return { ...withModelCache(driver, store, parsed), kind: 'azureml' } as AzureMlRegistry;
}
