import type * as SM from '@aws-sdk/client-sagemaker';
import { ModelshipError } from '../../errors/index.js';
import type {
  ModelVersionInfo,
  PublishedModel,
  RegistryAdapter,
  RegistryCallOptions,
  ResolvedModel,
  WatchListener,
} from '../../spec/registry.js';
import type { ModelFile } from '../../platform/model-store.js';
import { defineRegistry } from '../kit/define-registry.js';
import type { PollWatchOptions } from '../kit/poll-ref.js';
import { createRemoteStore, httpClientSettings } from '../kit/remote-store.js';
import { withModelCache } from '../kit/with-model-cache.js';
import { packageModelFile } from './model-archive.js';
import { sagemakerBaselineReader } from './baseline.js';
import { META_ALIAS, toInfo } from './packages.js';
import { publishToSageMaker, type SageMakerPublishInput } from './publish.js';
import { parseSageMakerRef, type SageMakerRef } from './ref.js';
import { parseSageMakerRegistryOptions, type SageMakerRegistryOptions } from './sagemaker-registry-options.js';
import { awsError, createAwsCall, isAwsNotFound } from '../../clients/aws/aws-call.js';
import { loadSageMaker, type SageMakerModule } from '../../clients/aws/sagemaker-sdk.js';
import type { SharedStateStore } from '../../spec/shared-state.js';
import { createSageMakerSharedState } from './shared-state.js';

/** The SageMaker Model Registry as a modelship registry. */
export interface SageMakerRegistry extends RegistryAdapter {
  readonly kind: 'sagemaker';
  /** Compare-and-set documents in a model package group's tags (a fleet's deployment state); see `shared-state.ts`. */
  readonly sharedState: SharedStateStore;
  fetch(
    model: ResolvedModel,
    options?: RegistryCallOptions,
  ): Promise<{
    readonly kind: 'file';
    readonly path: string;
    /** Unpins the cached file (the cache may evict it after); call it once the file has been read. */
    readonly release: () => void;
  }>;
  /** Every package of the group (any approval status), oldest first. */
  listVersions(name: string, options?: RegistryCallOptions): Promise<ModelVersionInfo[]>;
  /** Packs the model as `model.tar.gz`, uploads it to S3 and creates a package in the group (created if absent). */
  publish(input: SageMakerPublishInput, options?: RegistryCallOptions): Promise<PublishedModel>;
  /** Sets a package's approval status to Approved (`UpdateModelPackage`); `sagemaker:<group>` then resolves to it if newest. */
  approve(ref: string, options?: RegistryCallOptions & { readonly description?: string }): Promise<ResolvedModel>;
  /** Points an alias at a version (moving it if it pointed elsewhere). */
  setAlias(name: string, alias: string, version: string): Promise<void>;
  /** Removes an alias; the version stays. */
  deleteAlias(name: string, alias: string): Promise<void>;
  /** Reports a newly approved package for `sagemaker:<group>`, or a moved alias for `@alias`. */
  watch(ref: string, listener: WatchListener, options?: PollWatchOptions): () => void;
}

type Package = SM.DescribeModelPackageCommandOutput;
type Summary = SM.ModelPackageSummary;

/**
 * Creates an adapter for the SageMaker Model Registry. References: `sagemaker:<ModelPackageGroupName>` (the newest
 * Approved package), `sagemaker:<group>/<version>`, a model package ARN, and `sagemaker:<group>@<alias>` (aliases
 * kept in the packages' customer metadata). The model is the `.onnx` file of the package's `model.tar.gz`
 * (`ModelDataUrl` or `ModelDataSource.S3DataSource`), extracted safely into the content-addressed cache. Needs
 * `@aws-sdk/client-sagemaker` and `@aws-sdk/client-s3` (optional peers); credentials from the AWS chain.
 *
 * @example
 * ```ts
 * const registry = createSageMakerRegistry({ region: 'eu-west-1' });
 * const model = await loadModel('sagemaker:fraud-detector', { registry });
 * registry.watch('sagemaker:fraud-detector', (next) => console.log('approved', next.version));
 * ```
 */
export function createSageMakerRegistry(options: SageMakerRegistryOptions = {}): SageMakerRegistry {
  const parsed = parseSageMakerRegistryOptions(options);
  const region = parsed.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const s3 = { region, ...(parsed.credentials === undefined ? {} : { credentials: parsed.credentials }), ...parsed.s3 };
  const identity = `sagemaker ${parsed.endpoint ?? region}`;
  const { store, sources } = createRemoteStore({ ...parsed, s3 });
  const readBaseline = sagemakerBaselineReader(sources);
  const call = createAwsCall(httpClientSettings(parsed));
  let client: Promise<{ sdk: SageMakerModule; client: SM.SageMakerClient }> | undefined;
  const sm = (): Promise<{ sdk: SageMakerModule; client: SM.SageMakerClient }> => {
    client ??= loadSageMaker().then((sdk) => ({
      sdk,
      client: new sdk.SageMakerClient({
        region,
        maxAttempts: 1,
        ...(parsed.endpoint === undefined ? {} : { endpoint: parsed.endpoint }),
        ...(parsed.credentials === undefined ? {} : { credentials: { ...parsed.credentials } }),
      }),
    }));
    client.catch(() => (client = undefined));
    return client;
  };

  async function groupMissing(group: string, signal?: AbortSignal): Promise<ModelshipError | undefined> {
    const { sdk, client: c } = await sm();
    try {
      await call(
        'describing the model package group',
        (abortSignal) =>
          c.send(new sdk.DescribeModelPackageGroupCommand({ ModelPackageGroupName: group }), { abortSignal }),
        { signal },
      );
      return undefined;
    } catch (error) {
      if (!isAwsNotFound(error)) throw error;
      return awsError(error, 'describing the model package group', {
        code: 'MODEL_NOT_FOUND',
        message: `SageMaker has no model package group ${JSON.stringify(group)} in ${region}.`,
        details: { name: group },
      });
    }
  }

  async function listSummaries(group: string, approvedOnly: boolean, signal?: AbortSignal): Promise<Summary[]> {
    const { sdk, client: c } = await sm();
    const all: Summary[] = [];
    let token: string | undefined;
    do {
      const page = await call(
        'listing model packages',
        (abortSignal) =>
          c.send(
            new sdk.ListModelPackagesCommand({
              ModelPackageGroupName: group,
              ...(approvedOnly ? { ModelApprovalStatus: 'Approved' } : {}),
              SortBy: 'CreationTime',
              SortOrder: 'Descending',
              MaxResults: 100,
              ...(token === undefined ? {} : { NextToken: token }),
            }),
            { abortSignal },
          ),
        { signal },
      ).catch((error: unknown) => {
        throw awsError(error, 'listing model packages', {
          code: 'MODEL_NOT_FOUND',
          message: `SageMaker has no model package group ${JSON.stringify(group)}.`,
          details: { name: group },
        });
      });
      all.push(...(page.ModelPackageSummaryList ?? []));
      token = page.NextToken || undefined;
    } while (token !== undefined);
    return all;
  }

  async function describe(arn: string, signal?: AbortSignal): Promise<Package> {
    const { sdk, client: c } = await sm();
    return call(
      'describing a model package',
      (abortSignal) => c.send(new sdk.DescribeModelPackageCommand({ ModelPackageName: arn }), { abortSignal }),
      { signal },
    ).catch((error: unknown) => {
      throw awsError(error, 'describing a model package', {
        code: 'VERSION_NOT_FOUND',
        message: `SageMaker has no model package ${arn}.`,
      });
    });
  }

  async function findPackage(r: SageMakerRef, signal?: AbortSignal): Promise<Package> {
    if (r.kind === 'approved') {
      const newest = (await listSummaries(r.group, true, signal)).sort(
        (a, b) => (b.ModelPackageVersion ?? 0) - (a.ModelPackageVersion ?? 0),
      )[0];
      if (newest?.ModelPackageArn === undefined) {
        throw (
          (await groupMissing(r.group, signal)) ??
          new ModelshipError(
            'VERSION_NOT_FOUND',
            `Model package group ${JSON.stringify(r.group)} has no Approved package yet; approve one (UpdateModelPackage) or ask for sagemaker:${r.group}/<version>.`,
            { details: { name: r.group } },
          )
        );
      }
      return describe(newest.ModelPackageArn, signal);
    }
    const all = await listSummaries(r.group, false, signal);
    if (all.length === 0) {
      const missing = await groupMissing(r.group, signal);
      if (missing !== undefined) throw missing;
    }
    if (r.kind === 'version') {
      const hit = all.find((s) => s.ModelPackageVersion === r.version);
      if (hit?.ModelPackageArn === undefined)
        throw new ModelshipError(
          'VERSION_NOT_FOUND',
          `Model package group ${JSON.stringify(r.group)} has no version ${r.version}.`,
          { details: { name: r.group, version: String(r.version) } },
        );
      return describe(hit.ModelPackageArn, signal);
    }
    const described = await Promise.all(
      all.filter((s) => s.ModelPackageArn !== undefined).map((s) => describe(s.ModelPackageArn as string, signal)),
    );
    const hit = described
      .filter((p) => p.CustomerMetadataProperties?.[`${META_ALIAS}${r.alias}`] !== undefined)
      .sort((a, b) => (b.ModelPackageVersion ?? 0) - (a.ModelPackageVersion ?? 0))[0];
    if (hit === undefined)
      throw new ModelshipError(
        'ALIAS_NOT_FOUND',
        `Model package group ${JSON.stringify(r.group)} has no alias ${JSON.stringify(r.alias)}.`,
        { details: { name: r.group, alias: r.alias } },
      );
    return hit;
  }

  async function resolveOnline(ref: string, signal?: AbortSignal): Promise<ResolvedModel> {
    const p = await findPackage(parseSageMakerRef(ref), signal);
    const info = toInfo(p);
    return {
      ...info,
      metadata: { ...info.metadata, ...(await readBaseline(p, signal)) },
      ref,
      location: p.ModelPackageArn ?? '',
      versionRef: `sagemaker:${p.ModelPackageGroupName ?? ''}/${p.ModelPackageVersion ?? ''}`,
    };
  }

  async function locate(model: ResolvedModel, signal?: AbortSignal): Promise<ModelFile> {
    return packageModelFile(await describe(model.location, signal), model, parsed);
  }

  async function updateProps(arn: string, set: Record<string, string>, remove: string[]): Promise<void> {
    const { sdk, client: c } = await sm();
    await call('updating a model package', (abortSignal) =>
      c.send(
        new sdk.UpdateModelPackageCommand({
          ModelPackageArn: arn,
          ...(Object.keys(set).length > 0 ? { CustomerMetadataProperties: set } : {}),
          ...(remove.length > 0 ? { CustomerMetadataPropertiesToRemove: remove } : {}),
        }),
        { abortSignal },
      ),
    );
  }

  const assertAlias = (alias: string): void => {
    if (typeof alias !== 'string' || !/^[\w-]{1,64}$/.test(alias) || alias === 'latest' || alias === 'approved') {
      throw new ModelshipError(
        'INVALID_ARGUMENT',
        `Invalid alias ${JSON.stringify(alias)}: use letters, digits, "_" and "-"; "latest" and "approved" mean the newest Approved package.`,
      );
    }
  };

  async function moveAlias(group: string, alias: string, target: string | undefined): Promise<void> {
    const key = `${META_ALIAS}${alias}`;
    const all = await listSummaries(group, false);
    if (all.length === 0)
      throw (
        (await groupMissing(group)) ??
        new ModelshipError('VERSION_NOT_FOUND', `Model package group ${JSON.stringify(group)} has no packages.`)
      );
    const described = await Promise.all(all.map((s) => describe(s.ModelPackageArn as string)));
    const targetPkg =
      target === undefined ? undefined : described.find((p) => String(p.ModelPackageVersion) === target);
    if (target !== undefined && targetPkg === undefined)
      throw new ModelshipError(
        'VERSION_NOT_FOUND',
        `Model package group ${JSON.stringify(group)} has no version ${target}.`,
        { details: { name: group, version: target } },
      );
    const holders = described.filter((p) => p.CustomerMetadataProperties?.[key] !== undefined && p !== targetPkg);
    if (target === undefined && holders.length === 0)
      throw new ModelshipError(
        'ALIAS_NOT_FOUND',
        `Model package group ${JSON.stringify(group)} has no alias ${JSON.stringify(alias)}.`,
        { details: { name: group, alias } },
      );
    // Set first, then clear the old holders: a reader in between sees two holders and takes the newest, never none.
    if (targetPkg !== undefined)
      await updateProps(targetPkg.ModelPackageArn as string, { [key]: new Date().toISOString() }, []);
    for (const p of holders) await updateProps(p.ModelPackageArn as string, {}, [key]);
  }

  const driver = defineRegistry<SageMakerPublishInput>({
    kind: 'sagemaker',
    identity,
    parseRef: parseSageMakerRef,
    resolve: resolveOnline,
    locate,
    async listVersions(name, signal) {
      const group = parseSageMakerRef(name).group;
      const all = await listSummaries(group, false, signal);
      if (all.length === 0) {
        const missing = await groupMissing(group, signal);
        if (missing !== undefined) throw missing;
      }
      const described = await Promise.all(all.map((s) => describe(s.ModelPackageArn as string, signal)));
      return described.map(toInfo).sort((a, b) => Number(a.version) - Number(b.version));
    },
    publish: async (input, callOptions) => {
      const published = await publishToSageMaker(
        { sm, call, sources, options: parsed, groupMissing },
        input,
        callOptions,
      );
      for (const alias of input.aliases ?? []) {
        assertAlias(alias);
        await moveAlias(published.name, alias, published.version);
      }
      return published;
    },
    async setAlias(name, alias, version) {
      assertAlias(alias);
      await moveAlias(parseSageMakerRef(name).group, alias, String(version));
    },
    async deleteAlias(name, alias) {
      assertAlias(alias);
      await moveAlias(parseSageMakerRef(name).group, alias, undefined);
    },
    watch: { intervalMs: parsed.watchIntervalMs ?? 60_000 },
  });

  async function approve(
    ref: string,
    callOptions?: RegistryCallOptions & { readonly description?: string },
  ): Promise<ResolvedModel> {
    const target = await resolveOnline(ref, callOptions?.signal);
    const { sdk, client: c } = await sm();
    await call(
      'approving a model package',
      (abortSignal) =>
        c.send(
          new sdk.UpdateModelPackageCommand({
            ModelPackageArn: target.location,
            ModelApprovalStatus: 'Approved',
            ...(callOptions?.description === undefined ? {} : { ApprovalDescription: callOptions.description }),
          }),
          { abortSignal },
        ),
      { signal: callOptions?.signal },
    );
    return resolveOnline(ref, callOptions?.signal);
  }

  const sharedState = createSageMakerSharedState(sm, call);
  return { ...withModelCache(driver, store, parsed), kind: 'sagemaker', approve, sharedState } as SageMakerRegistry;
}
