import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { GoogleApiError } from '../../clients/gcp/google-rest.js';
import { ModelshipError } from '../../errors/index.js';
import type { PublishedModel, PublishInput, RegistryCallOptions } from '../../spec/registry.js';
import { invalidArgument } from '../errors.js';
import { DIGEST_KEY, toVersionInfo } from './model-json.js';
import { parseVertexRef } from './ref.js';
import type { VertexApi } from './vertex-api.js';
import type { parseVertexRegistryOptions } from './vertex-registry-options.js';

/** What `publish` takes: a model file or bytes; `name` is the Vertex model id (created on first publish). */
export type VertexPublishInput = PublishInput;

type Options = ReturnType<typeof parseVertexRegistryOptions>;

interface Operation {
  readonly name: string;
  readonly done?: boolean;
  readonly error?: { readonly code?: number; readonly message?: string };
  readonly response?: { readonly model?: string; readonly modelVersionId?: string };
}

const wait = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });

/** Polls a long-running operation (operations.get) until `done`, with backoff; its `error` becomes a modelship error. */
async function awaitOperation(
  api: VertexApi,
  op: Operation,
  options: Options,
  signal?: AbortSignal,
): Promise<Operation> {
  let delay = options.operationPollMs ?? 1000;
  const deadline = Date.now() + (options.operationTimeoutMs ?? 600_000);
  let current = op;
  while (current.done !== true) {
    if (Date.now() > deadline)
      throw new ModelshipError(
        'REGISTRY_UNAVAILABLE',
        `Vertex AI's upload operation ${op.name.split('/').pop() ?? ''} did not finish in time; check it in the console, then publish again if it failed.`,
        { retryable: false },
      );
    await wait(delay, signal);
    delay = Math.min(delay * 2, 10_000);
    current = await api.rest<Operation>({
      method: 'GET',
      url: `${api.apiRoot}/v1/${op.name}`,
      idempotent: true,
      what: 'polling the upload operation',
      signal,
    });
  }
  if (current.error !== undefined)
    throw new ModelshipError(
      'REGISTRY_UNAVAILABLE',
      `Vertex AI could not register the model: ${current.error.message ?? `code ${current.error.code ?? '?'}`}.`,
      { retryable: false },
    );
  return current;
}

/**
 * Uploads the model to `gs://<bucket>/<prefix>/<model>/<uuid>/model.onnx`, then registers it with models.upload (a new
 * model, or a new version with `parentModel`), waits for the long-running operation and returns the version. The
 * file's sha256 and size go into the version's (immutable) `metadata`, so every later download is checked.
 */
export async function publishToVertex(
  api: VertexApi,
  options: Options,
  input: VertexPublishInput,
  callOptions?: RegistryCallOptions,
): Promise<PublishedModel> {
  const signal = callOptions?.signal;
  if (input === null || typeof input !== 'object') throw invalidArgument('publish() needs { name, file | bytes }.');
  const ref = parseVertexRef(String(input.name));
  if (ref.kind !== 'default') throw invalidArgument('publish() takes a model id as name, without @version or @alias.');
  if (options.bucket === undefined)
    throw new ModelshipError(
      'INVALID_OPTIONS',
      'publish() needs the bucket to upload to: createVertexRegistry({ bucket }).',
    );
  if (options.image === undefined)
    throw new ModelshipError(
      'INVALID_OPTIONS',
      'publish() needs the serving image Vertex records with the model: createVertexRegistry({ image }).',
    );
  const bytes =
    input.bytes !== undefined
      ? input.bytes
      : input.file !== undefined
        ? new Uint8Array(await readFile(input.file))
        : undefined;
  if (bytes === undefined) throw invalidArgument('publish() needs file or bytes.');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const parent = await api.parent(ref);
  const modelName = `${parent}/models/${ref.model}`;
  const exists = (await api.modelMissing(modelName, signal)) === undefined;
  const folder = `${(options.prefix ?? 'modelship').replace(/^\/+|\/+$/g, '')}/${ref.model}/${randomUUID()}/`;
  await api.gcs.upload({ bucket: options.bucket, object: `${folder}model.onnx` }, bytes, signal);
  const userMeta = { ...(input.metadata ?? {}), ...(input.source === undefined ? {} : { source: input.source }) };
  const aliases = [...(input.aliases ?? [])];
  const body = {
    ...(exists ? { parentModel: modelName } : { modelId: ref.model }),
    model: {
      displayName: ref.model,
      artifactUri: `gs://${options.bucket}/${folder}`,
      containerSpec: { imageUri: options.image },
      ...(options.makeDefault === false ? {} : { versionAliases: ['default'] }),
      metadata: { ...userMeta, [DIGEST_KEY]: { sha256, size: bytes.byteLength } },
      ...(typeof input.metadata?.description === 'string' ? { versionDescription: input.metadata.description } : {}),
    },
  };
  let op: Operation;
  try {
    op = await api.rest<Operation>({
      method: 'POST',
      url: `${api.apiRoot}/v1/${parent}/models:upload`,
      body,
      idempotent: false,
      what: 'uploading a model',
      signal,
    });
  } catch (error) {
    if (error instanceof GoogleApiError)
      throw new ModelshipError(
        'INVALID_ARGUMENT',
        `Vertex AI refused the model (${error.rpcStatus ?? error.status}): ${error.message}`,
        { cause: error },
      );
    throw error;
  }
  const done = await awaitOperation(api, op, options, signal);
  const versionId = done.response?.modelVersionId ?? '1';
  if (aliases.length > 0)
    await api.rest({
      method: 'POST',
      url: `${api.apiRoot}/v1/${modelName}@${versionId}:mergeVersionAliases`,
      body: { versionAliases: aliases },
      idempotent: true,
      what: 'setting version aliases',
      signal,
    });
  const info = toVersionInfo(await api.get(`${modelName}@${versionId}`, signal));
  return { ...info, sha256, size: bytes.byteLength };
}
