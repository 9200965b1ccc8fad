import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../../core/backoff.js';
import { sha256Hex } from '../../core/digest.js';
import { parseLineage } from '../../lineage/schema.js';
import { ModelshipError } from '../../errors/index.js';
import type { ModelLineage } from '../../spec/lineage.js';
import type { PublishInput, PublishedModel, RegistryCallOptions } from '../../spec/registry.js';
import { invalidArgument, throwIfAborted } from '../errors.js';
import type { RemoteSources } from '../../platform/node/sources.js';
import { proxyUrl } from './artifacts.js';
import { modelEnvFiles, writeMlmodel } from './mlmodel.js';
import { assertMlflowAlias } from './model-uri.js';
import { apiError, MlflowApiError, type MlflowRest } from '../../clients/mlflow/rest.js';
import { findInRun, type RunCopy } from './run-artifacts.js';
import {
  lineageTags,
  TAG_METADATA,
  TAG_SHA256,
  TAG_SIZE,
  TAG_VALUE_LIMIT,
  toInfo,
  type MlflowModelVersion,
} from './versions.js';
import { BASELINE_FILE, encodeBaseline } from '../kit/baseline-metadata.js';
import { TAG_BASELINE } from './baseline-tags.js';

/** What MLflow's `publish` takes: the usual input, optionally tied to the run that trained the model. */
export interface MlflowPublishInput extends PublishInput {
  /** Store the model under this run's artifacts (which must be served by the artifact proxy) and link the version to it. */
  readonly runId?: string;
}

interface PublishContext {
  readonly rest: MlflowRest;
  readonly sources: RemoteSources;
  readonly trackingUri: string;
  readonly auth: Record<string, string>;
  readonly registrationTimeoutMs: number;
}

async function modelBytes(input: PublishInput): Promise<Uint8Array> {
  if ((input.file === undefined) === (input.bytes === undefined))
    throw invalidArgument('publish() needs exactly one of file (a path to a .onnx file) or bytes.');
  if (input.bytes !== undefined) {
    if (!(input.bytes instanceof Uint8Array) || input.bytes.byteLength === 0)
      throw invalidArgument('bytes must be a non-empty Uint8Array.');
    return input.bytes;
  }
  try {
    return new Uint8Array(await readFile(input.file as string));
  } catch (cause) {
    throw new ModelshipError('INVALID_ARGUMENT', `Cannot read ${input.file}: ${(cause as Error).message}`, { cause });
  }
}

/** How `publish` polls a version that is PENDING_REGISTRATION. */
const REGISTRATION_POLL = { baseMs: 50, maxMs: 2000 };

const codePoints = (text: string): number => [...text].length;

/** Everything MLflow would refuse, checked before anything is uploaded: tag values and the description ≤ 5,000. */
function versionTags(
  input: MlflowPublishInput,
  sha256: string,
  size: number,
): { tags: { key: string; value: string }[]; lineage: ModelLineage | undefined } {
  const metadata = JSON.stringify(JSON.parse(JSON.stringify(input.metadata ?? {})));
  if (codePoints(metadata) > TAG_VALUE_LIMIT) {
    throw invalidArgument(
      `metadata is ${codePoints(metadata)} characters as JSON; MLflow keeps at most ${TAG_VALUE_LIMIT} in a version tag. Store large metadata as a file and record its location.`,
    );
  }
  if (input.source !== undefined && codePoints(`source: ${input.source}`) > TAG_VALUE_LIMIT) {
    throw invalidArgument(`source is longer than MLflow's ${TAG_VALUE_LIMIT}-character description.`);
  }
  const lineage = input.lineage === undefined ? undefined : parseLineage(input.lineage);
  const lineageTagList = lineage === undefined ? [] : lineageTags(lineage);
  if (lineageTagList === undefined)
    throw invalidArgument('lineage is larger than 500,000 characters as JSON; record fewer data sets.');
  const tags = [
    { key: TAG_SHA256, value: sha256 },
    { key: TAG_SIZE, value: String(size) },
    { key: TAG_METADATA, value: metadata },
    ...lineageTagList,
  ];
  return { tags, lineage };
}

/**
 * Publishes like `mlflow.onnx.log_model` + `register_model`: creates the registered model if needed, uploads
 * `model.onnx`, an `MLmodel` (onnx and python_function flavors) and its environment files through the artifact
 * proxy, creates the version with modelship's digest, metadata and lineage tags, waits while it is
 * PENDING_REGISTRATION, then sets the aliases. With `runId`, an identical ONNX file the run already logged is
 * registered in place rather than stored again.
 */
export async function publishToMlflow(
  p: PublishContext,
  input: MlflowPublishInput,
  options?: RegistryCallOptions,
): Promise<PublishedModel> {
  const signal = options?.signal;
  throwIfAborted(signal);
  if (typeof input !== 'object' || input === null || typeof input.name !== 'string' || input.name.trim() === '') {
    throw invalidArgument('publish() takes { name, file | bytes, aliases?, metadata?, source?, lineage?, runId? }.');
  }
  const { name } = input;
  const aliases = [...new Set(input.aliases ?? [])];
  for (const alias of aliases) assertMlflowAlias(alias);
  const bytes = await modelBytes(input);
  const sha256 = await sha256Hex(bytes);
  const { tags, lineage } = versionTags(input, sha256, bytes.byteLength);
  const put = (path: string, body: Uint8Array, type: string): Promise<void> =>
    p.sources.put(proxyUrl(p.trackingUri, path), body, type, { signal, headers: p.auth });

  let artifactPath: string;
  let reused: RunCopy | undefined;
  if (input.runId !== undefined) {
    const { run } = await p
      .rest<{ run?: { info?: { artifact_uri?: string } } }>({
        method: 'GET',
        path: 'runs/get',
        query: { run_id: input.runId },
        idempotent: true,
        signal,
      })
      .catch((error: unknown) => {
        throw error instanceof MlflowApiError
          ? apiError(error, 'INVALID_ARGUMENT', `Run ${input.runId} not found`)
          : error;
      });
    const root = run?.info?.artifact_uri ?? '';
    if (!root.startsWith('mlflow-artifacts:/') || root.startsWith('mlflow-artifacts://')) {
      throw invalidArgument(
        `Run ${input.runId} stores artifacts at ${root.split('?')[0]}, not behind this server's artifact proxy; publish without runId or log the model with MLflow.`,
      );
    }
    const runRoot = root.slice('mlflow-artifacts:'.length).replace(/^\/+/, '').replace(/\/+$/, '');
    reused = await findInRun(p.sources, p.trackingUri, runRoot, bytes, sha256, { signal, headers: p.auth });
    // Content-named, so publishing twice from one run never rewrites a registered version's files.
    artifactPath = reused?.dir ?? `${runRoot}/model-${sha256.slice(0, 12)}`;
  } else {
    artifactPath = `modelship/${encodeURIComponent(name)}/${sha256}`;
  }

  try {
    await p.rest({ method: 'POST', path: 'registered-models/create', body: { name }, idempotent: true, signal });
  } catch (error) {
    if (!(error instanceof MlflowApiError)) throw error;
    if (error.errorCode !== 'RESOURCE_ALREADY_EXISTS')
      throw apiError(error, 'INVALID_ARGUMENT', `MLflow refused to create registered model ${JSON.stringify(name)}`);
  }

  const source = `mlflow-artifacts:/${artifactPath}`;
  if (reused === undefined) await put(`${artifactPath}/model.onnx`, bytes, 'application/octet-stream');
  if (input.baseline !== undefined) {
    // Beside the model, in a folder named by its digest: a later version of the same file with another baseline
    // never overwrites this one. The tag only points at it (tags hold 5,000 characters; a baseline 200 kB).
    const draft = await encodeBaseline(input.baseline, '');
    const file = `${artifactPath}/baseline-${draft.pointer.sha256.slice(0, 12)}/${BASELINE_FILE}`;
    await put(file, draft.bytes, 'application/json');
    tags.push({ key: TAG_BASELINE, value: JSON.stringify({ ...draft.pointer, file }) });
  }
  if (reused?.isModel !== true) {
    const fields = {
      artifactPath: artifactPath.split('/').pop() as string,
      data: reused?.file ?? 'model.onnx',
      modelUuid: randomUUID().replace(/-/g, ''),
      createdAt: new Date(),
    };
    const mlmodel = writeMlmodel({ ...fields, ...(input.runId === undefined ? {} : { runId: input.runId }) });
    for (const [file, text] of Object.entries(modelEnvFiles()))
      await put(`${artifactPath}/${file}`, new TextEncoder().encode(text), 'text/plain');
    // The MLmodel last: a directory with an MLmodel is taken for a complete model.
    await put(`${artifactPath}/MLmodel`, new TextEncoder().encode(mlmodel), 'text/plain');
  }

  let mv: MlflowModelVersion;
  try {
    ({ model_version: mv } = await p.rest<{ model_version: MlflowModelVersion }>({
      method: 'POST',
      path: 'model-versions/create',
      body: {
        name,
        source,
        ...(input.runId === undefined ? {} : { run_id: input.runId }),
        tags,
        ...(input.source === undefined ? {} : { description: `source: ${input.source}` }),
      },
      signal,
    }));
  } catch (error) {
    throw error instanceof MlflowApiError
      ? apiError(error, 'INVALID_ARGUMENT', `MLflow refused the new version of ${JSON.stringify(name)}`)
      : error;
  }
  const deadline = Date.now() + p.registrationTimeoutMs;
  for (let attempt = 0; mv.status === 'PENDING_REGISTRATION'; attempt++) {
    if (Date.now() > deadline)
      throw new ModelshipError(
        'REGISTRY_UNAVAILABLE',
        `${name}/${mv.version} is still PENDING_REGISTRATION after ${p.registrationTimeoutMs} ms.`,
      );
    // The one backoff without jitter (random = 1 gives its ceiling): 50 ms doubling to 2 s.
    await sleep(
      backoffDelay(attempt, REGISTRATION_POLL, undefined, () => 1),
      undefined,
      { signal },
    );
    ({ model_version: mv } = await p.rest<{ model_version: MlflowModelVersion }>({
      method: 'GET',
      path: 'model-versions/get',
      query: { name, version: mv.version },
      idempotent: true,
      signal,
    }));
  }
  if (mv.status === 'FAILED_REGISTRATION')
    throw new ModelshipError('REGISTRY_UNAVAILABLE', `MLflow failed to register ${name}/${mv.version}.`, {
      retryable: false,
    });
  for (const alias of aliases) {
    await p.rest({
      method: 'POST',
      path: 'registered-models/alias',
      body: { name, alias, version: mv.version },
      idempotent: true,
      signal,
    });
  }
  const info = toInfo({ ...mv, aliases });
  return { ...info, sha256, size: bytes.byteLength, ...(lineage === undefined ? {} : { lineage }) };
}
