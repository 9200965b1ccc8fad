import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { sha256Hex } from '../../core/digest.js';
import { ModelshipError } from '../../errors/index.js';
import type { PublishInput, PublishedModel, RegistryCallOptions } from '../../spec/registry.js';
import { invalidArgument, throwIfAborted } from '../local/errors.js';
import type { RemoteContext } from '../remote/remote-context.js';
import { proxyUrl } from './artifacts.js';
import { writeMlmodel } from './mlmodel.js';
import { assertMlflowAlias } from './model-uri.js';
import { apiError, MlflowApiError, type MlflowRest } from './rest.js';
import { TAG_METADATA, TAG_SHA256, TAG_SIZE, toInfo, type MlflowModelVersion } from './versions.js';

/** What MLflow's `publish` takes: the usual input, optionally tied to the run that trained the model. */
export interface MlflowPublishInput extends PublishInput {
  /** Store the model under this run's artifacts (which must be served by the artifact proxy) and link the version to it. */
  readonly runId?: string;
}

interface PublishContext {
  readonly rest: MlflowRest;
  readonly ctx: RemoteContext;
  readonly trackingUri: string;
  readonly auth: Record<string, string>;
  readonly registrationTimeoutMs: number;
}

async function modelBytes(input: PublishInput): Promise<Uint8Array> {
  if ((input.file === undefined) === (input.bytes === undefined)) throw invalidArgument('publish() needs exactly one of file (a path to a .onnx file) or bytes.');
  if (input.bytes !== undefined) {
    if (!(input.bytes instanceof Uint8Array) || input.bytes.byteLength === 0) throw invalidArgument('bytes must be a non-empty Uint8Array.');
    return input.bytes;
  }
  try {
    return new Uint8Array(await readFile(input.file as string));
  } catch (cause) {
    throw new ModelshipError('INVALID_ARGUMENT', `Cannot read ${input.file}: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Publishes like `mlflow.onnx.log_model` + `register_model`: creates the registered model if needed, uploads
 * `model.onnx` and an `MLmodel` (onnx flavor) through the artifact proxy, creates the version with modelship's
 * digest tags, waits while it is PENDING_REGISTRATION, then sets the aliases.
 */
export async function publishToMlflow(p: PublishContext, input: MlflowPublishInput, options?: RegistryCallOptions): Promise<PublishedModel> {
  const signal = options?.signal;
  throwIfAborted(signal);
  if (typeof input !== 'object' || input === null || typeof input.name !== 'string' || input.name.trim() === '') {
    throw invalidArgument('publish() takes { name, file | bytes, aliases?, metadata?, runId? }.');
  }
  const { name } = input;
  const aliases = [...new Set(input.aliases ?? [])];
  for (const alias of aliases) assertMlflowAlias(alias);
  const bytes = await modelBytes(input);
  const sha256 = await sha256Hex(bytes);
  const metadata = JSON.parse(JSON.stringify(input.metadata ?? {})) as Record<string, unknown>;

  try {
    await p.rest({ method: 'POST', path: 'registered-models/create', body: { name }, idempotent: true, signal });
  } catch (error) {
    if (!(error instanceof MlflowApiError)) throw error;
    if (error.errorCode !== 'RESOURCE_ALREADY_EXISTS') throw apiError(error, 'INVALID_ARGUMENT', `MLflow refused to create registered model ${JSON.stringify(name)}`);
  }

  let artifactPath: string;

  if (input.runId !== undefined) {
    const { run } = await p.rest<{ run?: { info?: { artifact_uri?: string } } }>({ method: 'GET', path: 'runs/get', query: { run_id: input.runId }, idempotent: true, signal }).catch((error: unknown) => {
      throw error instanceof MlflowApiError ? apiError(error, 'INVALID_ARGUMENT', `Run ${input.runId} not found`) : error;
    });
    const root = run?.info?.artifact_uri ?? '';
    if (!root.startsWith('mlflow-artifacts:/') || root.startsWith('mlflow-artifacts://')) {
      throw invalidArgument(`Run ${input.runId} stores artifacts at ${root.split('?')[0]}, not behind this server's artifact proxy; publish without runId or log the model with MLflow.`);
    }
    // Content-named, so publishing twice from one run never rewrites a registered version's files.
    artifactPath = `${root.slice('mlflow-artifacts:'.length).replace(/^\/+/, '').replace(/\/+$/, '')}/model-${sha256.slice(0, 12)}`;
  } else {
    artifactPath = `modelship/${encodeURIComponent(name)}/${sha256}`;
  }
  const source = `mlflow-artifacts:/${artifactPath}`;
  const mlmodel = writeMlmodel({ artifactPath: artifactPath.split('/').pop() as string, modelUuid: randomUUID().replace(/-/g, ''), createdAt: new Date(), ...(input.runId === undefined ? {} : { runId: input.runId }) });
  await p.ctx.sources.put(proxyUrl(p.trackingUri, `${artifactPath}/model.onnx`), bytes, 'application/octet-stream', { signal, headers: p.auth });
  await p.ctx.sources.put(proxyUrl(p.trackingUri, `${artifactPath}/MLmodel`), new TextEncoder().encode(mlmodel), 'text/plain', { signal, headers: p.auth });

  const tags = [
    { key: TAG_SHA256, value: sha256 },
    { key: TAG_SIZE, value: String(bytes.byteLength) },
    { key: TAG_METADATA, value: JSON.stringify(metadata) },
  ];
  let mv: MlflowModelVersion;
  try {
    ({ model_version: mv } = await p.rest<{ model_version: MlflowModelVersion }>({
      method: 'POST',
      path: 'model-versions/create',
      body: { name, source, ...(input.runId === undefined ? {} : { run_id: input.runId }), tags, ...(input.source === undefined ? {} : { description: `source: ${input.source}` }) },
      signal,
    }));
  } catch (error) {
    throw error instanceof MlflowApiError ? apiError(error, 'INVALID_ARGUMENT', `MLflow refused the new version of ${JSON.stringify(name)}`) : error;
  }
  const deadline = Date.now() + p.registrationTimeoutMs;
  for (let attempt = 0; mv.status === 'PENDING_REGISTRATION'; attempt++) {
    if (Date.now() > deadline) throw new ModelshipError('REGISTRY_UNAVAILABLE', `${name}/${mv.version} is still PENDING_REGISTRATION after ${p.registrationTimeoutMs} ms.`);
    await sleep(Math.min(2000, 50 * 2 ** attempt), undefined, { signal });
    ({ model_version: mv } = await p.rest<{ model_version: MlflowModelVersion }>({ method: 'GET', path: 'model-versions/get', query: { name, version: mv.version }, idempotent: true, signal }));
  }
  if (mv.status === 'FAILED_REGISTRATION') throw new ModelshipError('REGISTRY_UNAVAILABLE', `MLflow failed to register ${name}/${mv.version}.`, { retryable: false });
  for (const alias of aliases) {
    await p.rest({ method: 'POST', path: 'registered-models/alias', body: { name, alias, version: mv.version }, idempotent: true, signal });
  }
  const info = toInfo({ ...mv, aliases });
  return { ...info, sha256, size: bytes.byteLength };
}
