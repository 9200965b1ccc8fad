import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isArmNotFound, ArmApiError } from '../../clients/azure/arm-rest.js';
import { ModelshipError } from '../../errors/index.js';
import type { PublishedModel, PublishInput, RegistryCallOptions } from '../../spec/registry.js';
import { invalidArgument } from '../errors.js';
import type { AzureMlApi, ModelContainerJson, ModelVersionJson } from './azureml-api.js';
import type { ParsedAzureMlOptions } from './azureml-registry-options.js';
import { lineageProperty, putBaseline } from './azureml-baseline.js';
import { ALIAS_TAG, encodeTag, SHA256_PROPERTY, SIZE_PROPERTY, toVersionInfo } from './model-json.js';
import { ALIAS, parseAzureMlRef } from './ref.js';

/** What `publish` takes: a model file or bytes; `name` is the Azure ML model name (created on first publish). */
export type AzureMlPublishInput = PublishInput;

/** Checks an alias against the tag convention; `latest` is Azure ML's own label for the newest version. */
export function assertAlias(alias: string): void {
  if (typeof alias !== 'string' || !ALIAS.test(alias) || alias === 'latest')
    throw new ModelshipError(
      'INVALID_ARGUMENT',
      `Invalid alias ${JSON.stringify(String(alias).slice(0, 80))}: aliases match [a-zA-Z][a-zA-Z0-9_-]* (at most 63 characters); "latest" is Azure ML's label for the newest version.`,
    );
}

/** Rewrites the model's alias tags (`modelship.alias.<alias>`), keeping everything else on the model as it was. */
export async function putAliasTags(
  api: AzureMlApi,
  name: string,
  container: ModelContainerJson,
  change: (tags: Record<string, string>) => void,
): Promise<void> {
  const tags = { ...(container.properties.tags ?? {}) };
  change(tags);
  await api.rest({
    method: 'PUT',
    url: api.url(`${api.base()}/models/${encodeURIComponent(name)}`),
    body: {
      properties: {
        description: container.properties.description ?? null,
        tags,
        properties: container.properties.properties ?? {},
        isArchived: container.properties.isArchived ?? false,
      },
    },
    idempotent: true,
    what: 'updating the model tags',
  });
}

/**
 * Uploads the model to the workspace datastore (`<prefix>/<model>/<uuid>/model.onnx`, with its Content-MD5), then
 * registers it as the model's next version (PUT …/versions/<nextVersion>, `modelType: custom_model`, the digest and
 * lineage in the version's immutable `properties`, metadata as tags) and points the aliases at it. A drift baseline
 * is uploaded beside model.onnx and named by a property.
 */
export async function publishToAzureMl(
  api: AzureMlApi,
  options: ParsedAzureMlOptions,
  input: AzureMlPublishInput,
  callOptions?: RegistryCallOptions,
): Promise<PublishedModel> {
  const signal = callOptions?.signal;
  if (input === null || typeof input !== 'object') throw invalidArgument('publish() needs { name, file | bytes }.');
  if (api.isRegistry)
    throw new ModelshipError(
      'INVALID_OPTIONS',
      'Azure ML registries are read-only here: publish to a workspace (createAzureMlRegistry({ workspace })), then share the version to the registry.',
    );
  const ref = parseAzureMlRef(String(input.name));
  if (ref.kind !== 'latest' || ref.registry !== undefined || String(input.name).includes('@'))
    throw invalidArgument('publish() takes a model name, without :version or @alias.');
  for (const a of input.aliases ?? []) assertAlias(a);
  if ((input.file === undefined) === (input.bytes === undefined))
    throw invalidArgument('publish() needs exactly one of file and bytes.');
  // Checked before anything is uploaded.
  const lineage = lineageProperty(input.lineage);
  const bytes = input.bytes ?? new Uint8Array(await readFile(input.file as string));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const name = ref.name;
  const datastore = options.datastore ?? 'workspaceblobstore';
  const prefix = (options.prefix ?? 'modelship').replace(/^\/+|\/+$/g, '');
  const path = `${prefix === '' ? '' : `${prefix}/`}${name}/${randomUUID()}/model.onnx`;
  const loc = await api.datastoreBlob(api.base(), datastore, path, signal);
  await api.blobs.upload(loc, bytes, signal);
  // The baseline goes beside model.onnx, as SageMaker's beside its archive; the version's properties point at it.
  const baseline = input.baseline === undefined ? {} : await putBaseline(api, datastore, path, input.baseline, signal);

  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.metadata ?? {})) if (v !== undefined) tags[k] = encodeTag(v);
  const { subscriptionId, resourceGroup, workspace } = api.scope;
  // The long datastore URI form Azure ML itself records for workspace models.
  const modelUri = `azureml://subscriptions/${subscriptionId}/resourcegroups/${resourceGroup}/workspaces/${workspace ?? ''}/datastores/${datastore}/paths/${path}`;
  const body = {
    properties: {
      modelUri,
      modelType: 'custom_model',
      description:
        input.source === undefined ? null : `Published by modelship from ${String(input.source).slice(0, 500)}`,
      tags,
      properties: {
        [SHA256_PROPERTY]: sha256,
        [SIZE_PROPERTY]: String(bytes.byteLength),
        ...lineage.properties,
        ...baseline,
      },
    },
  };
  const base = `${api.base()}/models/${encodeURIComponent(name)}`;
  let version: ModelVersionJson | undefined;
  // Two publishers may read the same nextVersion; ARM refuses the second PUT (409), so take the next number.
  for (let attempt = 0; version === undefined; attempt++) {
    const container = await api.getContainer(api.base(), name, signal).catch((e: unknown) => {
      if (isArmNotFound(e)) return undefined;
      throw e;
    });
    const next = container?.properties.nextVersion ?? '1';
    try {
      version = await api.rest<ModelVersionJson>({
        method: 'PUT',
        url: api.url(`${base}/versions/${encodeURIComponent(next)}`),
        body,
        idempotent: false,
        what: 'registering the model version',
        signal,
      });
    } catch (error) {
      if (!(error instanceof ArmApiError && error.status === 409) || attempt >= 4) throw error;
    }
  }
  let container = await api.getContainer(api.base(), name, signal);
  if ((input.aliases ?? []).length > 0) {
    await putAliasTags(api, name, container, (t) => {
      for (const a of input.aliases ?? []) t[`${ALIAS_TAG}${a}`] = version.name;
    });
    container = await api.getContainer(api.base(), name, signal);
  }
  const info = toVersionInfo(name, version, container);
  return {
    ...info,
    sha256,
    size: bytes.byteLength,
    ...(lineage.lineage === undefined ? {} : { lineage: lineage.lineage }),
  };
}
