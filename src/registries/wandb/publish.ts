import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ModelshipError } from '../../errors/index.js';
import type { PublishInput, PublishedModel, RegistryCallOptions } from '../../spec/registry.js';
import type { RemoteSources } from '../../platform/node/sources.js';
import { WandbGraphqlError, type WandbGraphql } from '../../clients/wandb/graphql.js';
import { COMMIT_ARTIFACT, CREATE_ARTIFACT, CREATE_ARTIFACT_FILES, CREATE_ARTIFACT_MANIFEST } from './queries.js';
import { META_SHA256, META_SIZE } from './versions.js';
import { BASELINE_FILE, BASELINE_METADATA_KEY, encodeBaseline } from '../kit/baseline-metadata.js';

/** What `publish` takes: the name is `collection` or `project/collection`; the file is stored as `fileName`. */
export interface WandbPublishInput extends PublishInput {
  /** Artifact file name (default `model.onnx`). */
  readonly fileName?: string;
  /** Artifact type (default `model`). */
  readonly type?: string;
  readonly description?: string;
}

interface UploadTarget {
  readonly uploadUrl?: string | null;
  readonly uploadHeaders?: readonly string[] | null;
}

const b64md5 = (bytes: Uint8Array | string): string => createHash('md5').update(bytes).digest('base64');

/** W&B's manifest digest: MD5 over the sorted `name:digest` lines (what the SDKs send as the artifact digest). */
export function manifestDigest(entries: Readonly<Record<string, { digest: string }>>): string {
  const h = createHash('md5').update('wandb-artifact-manifest-v1\n');
  for (const name of Object.keys(entries).sort()) h.update(`${name}:${entries[name]?.digest ?? ''}\n`);
  return h.digest('hex');
}

const headersOf = (target: UploadTarget): Record<string, string> =>
  Object.fromEntries(
    (target.uploadHeaders ?? []).map((h) => [
      h.slice(0, h.indexOf(':')).trim().toLowerCase(),
      h.slice(h.indexOf(':') + 1).trim(),
    ]),
  );

/**
 * Creates an artifact version as the SDKs do: `createArtifact` (type, collection, manifest digest, aliases),
 * `createArtifactFiles` and `createArtifactManifest` for upload URLs, PUT the file and `wandb_manifest.json`, then
 * `commitArtifact`.
 */
export async function publishToWandb(
  deps: { gql: WandbGraphql; sources: RemoteSources; entity: string; project: string | undefined },
  input: WandbPublishInput,
  options?: RegistryCallOptions,
): Promise<PublishedModel> {
  const signal = options?.signal;
  const gql: WandbGraphql = <T>(query: string, variables: Record<string, unknown>, o?: Parameters<WandbGraphql>[2]) =>
    deps.gql<T>(query, variables, o).catch((error: unknown): never => {
      if (error instanceof WandbGraphqlError)
        throw new ModelshipError('REGISTRY_UNAVAILABLE', `W&B refused to publish ${input.name}: ${error.message}`, {
          cause: error,
          retryable: false,
        });
      throw error;
    });
  const [project, name] = input.name.includes('/')
    ? (input.name.split('/', 2) as [string, string])
    : [deps.project, input.name];
  if (project === undefined || !/^[\w.-]+$/.test(project) || !/^[\w.-]+$/.test(name)) {
    throw new ModelshipError(
      'INVALID_ARGUMENT',
      `Cannot publish ${JSON.stringify(input.name)}: pass "project/name" or set the registry's project (WANDB_PROJECT); names use letters, digits, "_", "-" and ".".`,
    );
  }
  const bytes = input.bytes ?? (input.file !== undefined ? new Uint8Array(await readFile(input.file)) : undefined);
  if (bytes === undefined) throw new ModelshipError('INVALID_ARGUMENT', 'publish() needs file or bytes.');
  const fileName = input.fileName ?? 'model.onnx';
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const digest = b64md5(bytes);
  // The drift baseline is a second file of the artifact; its metadata only points at it (with its sha256).
  const baseline = input.baseline === undefined ? undefined : await encodeBaseline(input.baseline, BASELINE_FILE);
  if (baseline !== undefined && fileName === BASELINE_FILE)
    throw new ModelshipError('INVALID_ARGUMENT', `fileName cannot be ${BASELINE_FILE}: the baseline is stored so.`);
  const uploads = new Map<string, { bytes: Uint8Array; digest: string }>([[fileName, { bytes, digest }]]);
  if (baseline !== undefined) uploads.set(BASELINE_FILE, { bytes: baseline.bytes, digest: b64md5(baseline.bytes) });
  const contents = Object.fromEntries(
    [...uploads].map(([file, u]) => [file, { digest: u.digest, size: u.bytes.byteLength }]),
  );
  const aliases = [...new Set(input.aliases ?? [])];
  const metadata = {
    ...input.metadata,
    ...(baseline === undefined ? {} : { [BASELINE_METADATA_KEY]: baseline.pointer }),
    ...(input.lineage === undefined ? {} : { lineage: input.lineage }),
    ...(input.source === undefined ? {} : { source: input.source }),
    [META_SHA256]: sha256,
    [META_SIZE]: bytes.byteLength,
  };
  const created = await gql<{ createArtifact: { artifact: { id: string; versionIndex: number } } }>(
    CREATE_ARTIFACT,
    {
      input: {
        entityName: deps.entity,
        projectName: project,
        artifactTypeName: input.type ?? 'model',
        artifactCollectionName: name,
        digest: manifestDigest(contents),
        digestAlgorithm: 'MANIFEST_MD5',
        description: input.description ?? null,
        metadata: JSON.stringify(metadata),
        aliases: aliases.map((alias) => ({ artifactCollectionName: name, alias })),
        enableDigestDeduplication: false,
      },
    },
    { signal, mutation: true },
  );
  const artifactID = created.createArtifact.artifact.id;
  const files = await gql<{ createArtifactFiles: { files: { edges: { node: UploadTarget & { name: string } }[] } } }>(
    CREATE_ARTIFACT_FILES,
    {
      input: {
        storageLayout: 'V2',
        artifactFiles: [...uploads].map(([file, u]) => ({ artifactID, name: file, md5: u.digest })),
      },
    },
    { signal, mutation: true },
  );
  for (const { node } of files.createArtifactFiles.files.edges) {
    const upload = uploads.get(node.name);
    // A null uploadUrl means the server already has these bytes (deduplicated by MD5).
    if (node.uploadUrl && upload !== undefined)
      await deps.sources.put(node.uploadUrl, upload.bytes, 'application/octet-stream', {
        signal,
        headers: { 'content-md5': upload.digest, ...headersOf(node) },
      });
  }
  const manifest = JSON.stringify({
    version: 1,
    storagePolicy: 'wandb-storage-policy-v1',
    storagePolicyConfig: { storageLayout: 'V2' },
    contents,
  });
  const m = await gql<{ createArtifactManifest: { artifactManifest: { file: UploadTarget } } }>(
    CREATE_ARTIFACT_MANIFEST,
    {
      input: {
        artifactID,
        name: 'wandb_manifest.json',
        digest: createHash('md5').update(manifest).digest('hex'),
        entityName: deps.entity,
        projectName: project,
        includeUpload: true,
        type: 'FULL',
      },
    },
    { signal, mutation: true },
  );
  const target = m.createArtifactManifest.artifactManifest.file;
  if (target.uploadUrl)
    await deps.sources.put(target.uploadUrl, new TextEncoder().encode(manifest), 'application/json', {
      signal,
      headers: headersOf(target),
    });
  const committed = await gql<{ commitArtifact: { artifact: { versionIndex: number } } }>(
    COMMIT_ARTIFACT,
    { input: { artifactID } },
    { signal, mutation: true },
  );
  const versionIndex = committed.commitArtifact.artifact.versionIndex ?? created.createArtifact.artifact.versionIndex;
  return {
    name,
    version: `v${versionIndex}`,
    sha256,
    size: bytes.byteLength,
    aliases: aliases.filter((a) => a !== 'latest').sort(),
    metadata: { ...(input.metadata ?? {}) },
    createdAt: new Date().toISOString(),
    ...(input.lineage === undefined ? {} : { lineage: input.lineage }),
  };
}
