import type * as SM from '@aws-sdk/client-sagemaker';
import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ModelshipError } from '../../errors/index.js';
import type { PublishInput, PublishedModel, RegistryCallOptions } from '../../spec/registry.js';
import { createTarGz } from '../../platform/node/tar-create.js';
import type { RemoteSources } from '../../platform/node/sources.js';
import { META_SHA256, META_SIZE, META_USER } from './packages.js';
import { putBaseline } from './baseline.js';
import type { parseSageMakerRegistryOptions } from './sagemaker-registry-options.js';
import { awsError, type AwsCall } from '../../clients/aws/aws-call.js';
import type { SageMakerModule } from '../../clients/aws/sagemaker-sdk.js';

/** What `publish` takes; `name` is the model package group. */
export interface SageMakerPublishInput extends PublishInput {
  /** Approval status of the new package (default: the registry's `approvalStatus`, else `PendingManualApproval`). */
  readonly approvalStatus?: 'Approved' | 'Rejected' | 'PendingManualApproval';
  readonly description?: string;
  /** File name inside `model.tar.gz` (default `model.onnx`). */
  readonly fileName?: string;
}

interface Deps {
  readonly sm: () => Promise<{ sdk: SageMakerModule; client: SM.SageMakerClient }>;
  readonly call: AwsCall;
  readonly sources: RemoteSources;
  readonly options: ReturnType<typeof parseSageMakerRegistryOptions>;
  readonly groupMissing: (group: string, signal?: AbortSignal) => Promise<ModelshipError | undefined>;
}

/**
 * Packs the model as `model.tar.gz`, uploads it to `s3://<bucket>/<prefix>/<group>/<uuid>/model.tar.gz`, creates the
 * group if absent, then `CreateModelPackage` with the archive as `ModelDataUrl`, the digest and metadata as customer
 * metadata properties, and the approval status.
 */
export async function publishToSageMaker(
  deps: Deps,
  input: SageMakerPublishInput,
  options?: RegistryCallOptions,
): Promise<PublishedModel> {
  const signal = options?.signal;
  const { bucket, image } = deps.options;
  if (bucket === undefined || image === undefined) {
    throw new ModelshipError(
      'INVALID_OPTIONS',
      'SageMaker publish() needs { bucket } (where model.tar.gz goes) and { image } (the inference image SageMaker records) in createSageMakerRegistry.',
    );
  }
  const group = input.name;
  if (!/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/.test(group))
    throw new ModelshipError(
      'INVALID_ARGUMENT',
      `Invalid model package group name ${JSON.stringify(group)}: up to 63 letters, digits and hyphens.`,
    );
  const bytes = input.bytes ?? (input.file !== undefined ? new Uint8Array(await readFile(input.file)) : undefined);
  if (bytes === undefined) throw new ModelshipError('INVALID_ARGUMENT', 'publish() needs file or bytes.');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const prefix = (deps.options.prefix ?? 'modelship').replace(/^\/+|\/+$/g, '');
  const url = `s3://${bucket}/${prefix === '' ? '' : `${prefix}/`}${group}/${randomUUID()}/model.tar.gz`;
  await deps.sources.put(
    url,
    createTarGz([{ name: input.fileName ?? 'model.onnx', data: bytes }]),
    'application/gzip',
    { ...(signal === undefined ? {} : { signal }) },
  );

  const { sdk, client } = await deps.sm();
  if ((await deps.groupMissing(group, signal)) !== undefined) {
    await deps
      .call(
        'creating the model package group',
        (abortSignal) =>
          client.send(
            new sdk.CreateModelPackageGroupCommand({
              ModelPackageGroupName: group,
              ModelPackageGroupDescription: 'Created by modelship',
            }),
            { abortSignal },
          ),
        { signal, idempotent: false },
      )
      .catch((error: unknown) => {
        // Another publisher created it first: fine.
        if (!/already exists/i.test((error as Error).message ?? '')) throw error;
      });
  }
  const props: Record<string, string> = {
    [META_SHA256]: sha256,
    [META_SIZE]: String(bytes.byteLength),
    ...(input.baseline === undefined ? {} : await putBaseline(deps.sources, url, input.baseline, signal)),
  };
  for (const [k, v] of Object.entries({
    ...(input.metadata ?? {}),
    ...(input.source === undefined ? {} : { source: input.source }),
  }))
    props[`${META_USER}${k}`] = JSON.stringify(v);
  const created = await deps.call(
    'creating a model package',
    (abortSignal) =>
      client.send(
        new sdk.CreateModelPackageCommand({
          ModelPackageGroupName: group,
          ModelApprovalStatus: input.approvalStatus ?? deps.options.approvalStatus ?? 'PendingManualApproval',
          ...(input.description === undefined ? {} : { ModelPackageDescription: input.description }),
          InferenceSpecification: {
            Containers: [{ Image: image, ModelDataUrl: url, Framework: 'ONNX' }],
            SupportedContentTypes: ['application/json'],
            SupportedResponseMIMETypes: ['application/json'],
          },
          CustomerMetadataProperties: props,
          ClientToken: randomUUID(),
        }),
        { abortSignal },
      ),
    { signal, idempotent: false },
  );
  const arn = created.ModelPackageArn;
  const described = await deps
    .call(
      'describing a model package',
      (abortSignal) => client.send(new sdk.DescribeModelPackageCommand({ ModelPackageName: arn }), { abortSignal }),
      { signal },
    )
    .catch((error: unknown) => {
      throw awsError(error, 'describing the new model package');
    });
  return {
    name: group,
    version: String(described.ModelPackageVersion),
    sha256,
    size: bytes.byteLength,
    aliases: [...new Set(input.aliases ?? [])].sort(),
    metadata: { ...(input.metadata ?? {}) },
    ...(described.CreationTime === undefined ? {} : { createdAt: new Date(described.CreationTime).toISOString() }),
    ...(input.lineage === undefined ? {} : { lineage: input.lineage }),
  };
}
