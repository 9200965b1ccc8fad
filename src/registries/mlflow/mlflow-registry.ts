import { redactUrl } from '../../core/redact.js';
import { ModelshipError } from '../../errors/index.js';
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
import { createRemoteStore, httpClientSettings } from '../kit/remote-store.js';
import { withModelCache } from '../kit/with-model-cache.js';
import { artifactDir } from './artifacts.js';
import { mlflowBaselineReader } from './baseline-tags.js';
import { createMlflowClient } from '../../clients/mlflow/mlflow-client.js';
import { mlflowEnv } from '../../clients/mlflow/settings.js';
import { onnxDataFile, parseMlmodel } from './mlmodel.js';
import { parseMlflowRegistryOptions, type MlflowRegistryOptions } from './mlflow-registry-options.js';
import { assertMlflowAlias, parseMlflowRef } from './model-uri.js';
import { publishToMlflow, type MlflowPublishInput } from './publish.js';
import { apiError, MlflowApiError } from '../../clients/mlflow/rest.js';
import { toInfo, type MlflowModelVersion } from './versions.js';
import type { SharedStateStore } from '../../spec/shared-state.js';
import { createMlflowSharedState } from './shared-state.js';

/** The MLflow Model Registry as a modelship registry. */
export interface MlflowRegistry extends RegistryAdapter {
  readonly kind: 'mlflow';
  /** The tracking server, without credentials. */
  readonly trackingUri: string;
  fetch(
    model: ResolvedModel,
    options?: RegistryCallOptions,
  ): Promise<{
    readonly kind: 'file';
    readonly path: string;
    /** Unpins the cached file (the cache may evict it after); call it once the file has been read. */
    readonly release: () => void;
  }>;
  /** Every version of a model, oldest first. */
  listVersions(name: string, options?: RegistryCallOptions): Promise<ModelVersionInfo[]>;
  /** Creates the registered model if absent, uploads `model.onnx` and an `MLmodel` through the artifact proxy, registers the version, sets aliases. */
  publish(input: MlflowPublishInput, options?: RegistryCallOptions): Promise<PublishedModel>;
  /** Points an alias at a version (moving it if it pointed elsewhere). */
  setAlias(name: string, alias: string, version: string): Promise<void>;
  /** Removes an alias; the version stays. */
  deleteAlias(name: string, alias: string): Promise<void>;
  watch(ref: string, listener: WatchListener, options?: PollWatchOptions): () => void;
  /** Compare-and-set documents as registered-model tags (a fleet's deployment state); see `shared-state.ts`. */
  readonly sharedState: SharedStateStore;
}

const PAGE_SIZE = 1000;

/**
 * Creates an adapter for an MLflow tracking server's Model Registry (REST API 2.0). References:
 * `models:/name/3`, `models:/name@champion`, `models:/name/latest`, or the bare `name/3`, `name@champion`, `name`.
 * Models are downloaded into the content-addressed cache (from the artifact proxy, S3 or HTTP), and keep serving
 * from it when the server is down. Credentials: `token` (Bearer) or `username`/`password` (Basic), defaulting to
 * `MLFLOW_TRACKING_TOKEN`, `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD`; the server to `MLFLOW_TRACKING_URI`.
 *
 * @example
 * ```ts
 * const registry = createMlflowRegistry({ trackingUri: 'http://127.0.0.1:5000' });
 * const model = await loadModel('models:/mnist@production', { registry });
 * registry.watch('models:/mnist@production', (next) => console.log('alias moved to', next.version));
 * ```
 */
export function createMlflowRegistry(options: MlflowRegistryOptions = {}): MlflowRegistry {
  const parsed = parseMlflowRegistryOptions(options);
  const given = parsed.trackingUri ?? mlflowEnv().trackingUri ?? '';
  if (!/^https?:\/\/[^/]/i.test(given)) {
    throw new ModelshipError(
      'INVALID_OPTIONS',
      'createMlflowRegistry needs trackingUri (an http(s):// URL) or MLFLOW_TRACKING_URI.',
    );
  }
  // Credentials in the URI become a header: requests go to (and messages show) the URI without them.
  const mlflow = createMlflowClient({
    ...httpClientSettings(parsed),
    trackingUri: given,
    token: parsed.token,
    username: parsed.username,
    password: parsed.password,
  });
  const { trackingUri, auth, publicUri, rest } = mlflow;
  const { store, sources } = createRemoteStore(parsed);
  const withBaseline = mlflowBaselineReader(sources, trackingUri, auth);

  /** MODEL_NOT_FOUND when the registered model does not exist, else `fallback`. */
  async function notFound(name: string, fallback: () => ModelshipError, signal?: AbortSignal): Promise<ModelshipError> {
    try {
      await rest({ method: 'GET', path: 'registered-models/get', query: { name }, idempotent: true, signal });
    } catch (error) {
      if (error instanceof MlflowApiError && (error.status === 404 || error.errorCode === 'RESOURCE_DOES_NOT_EXIST')) {
        return apiError(
          error,
          'MODEL_NOT_FOUND',
          `Registered model ${JSON.stringify(name)} not found in MLflow at ${publicUri}.`,
          { name },
        );
      }
      if (!(error instanceof MlflowApiError)) throw error;
    }
    return fallback();
  }

  /**
   * The registered model's aliases by version, from `registered-models/get`: MLflow fills a version's `aliases`
   * in model-versions/get and registered-models/alias but leaves them out of model-versions/search results.
   */
  async function aliasesByVersion(name: string, signal?: AbortSignal): Promise<Map<string, string[]>> {
    let res: { registered_model?: { aliases?: readonly { alias?: string; version?: string | number }[] } };
    try {
      res = await rest({ method: 'GET', path: 'registered-models/get', query: { name }, idempotent: true, signal });
    } catch (error) {
      if (!(error instanceof MlflowApiError)) throw error;
      if (error.status === 404 || error.errorCode === 'RESOURCE_DOES_NOT_EXIST') {
        throw apiError(
          error,
          'MODEL_NOT_FOUND',
          `Registered model ${JSON.stringify(name)} not found in MLflow at ${publicUri}.`,
          { name },
        );
      }
      throw apiError(error, 'INVALID_ARGUMENT', `MLflow refused to look up ${JSON.stringify(name)}`);
    }
    const byVersion = new Map<string, string[]>();
    for (const { alias, version } of res.registered_model?.aliases ?? []) {
      if (alias === undefined || version === undefined) continue;
      byVersion.set(String(version), [...(byVersion.get(String(version)) ?? []), alias]);
    }
    return byVersion;
  }

  /** Every version of `name`, each with the aliases pointing at it. */
  async function versionsWithAliases(name: string, signal?: AbortSignal): Promise<MlflowModelVersion[]> {
    const aliases = await aliasesByVersion(name, signal);
    return (await searchVersions(name, signal)).map((v) => ({ ...v, aliases: aliases.get(String(v.version)) ?? [] }));
  }

  async function searchVersions(name: string, signal?: AbortSignal): Promise<MlflowModelVersion[]> {
    const filter = name.includes("'") ? `name="${name}"` : `name='${name}'`;
    const all: MlflowModelVersion[] = [];
    let pageToken: string | undefined;
    do {
      const page = await rest<{ model_versions?: MlflowModelVersion[]; next_page_token?: string }>({
        method: 'GET',
        path: 'model-versions/search',
        query: { filter, max_results: PAGE_SIZE, page_token: pageToken },
        idempotent: true,
        signal,
      });
      all.push(...(page.model_versions ?? []));
      pageToken = page.next_page_token === '' ? undefined : page.next_page_token;
    } while (pageToken !== undefined);
    return all.filter((v) => v.name === name);
  }

  async function getVersion(name: string, version: string, signal?: AbortSignal): Promise<MlflowModelVersion> {
    try {
      const res = await rest<{ model_version: MlflowModelVersion }>({
        method: 'GET',
        path: 'model-versions/get',
        query: { name, version },
        idempotent: true,
        signal,
      });
      return res.model_version;
    } catch (error) {
      if (!(error instanceof MlflowApiError)) throw error;
      if (error.status !== 404 && error.errorCode !== 'RESOURCE_DOES_NOT_EXIST')
        throw apiError(error, 'INVALID_ARGUMENT', `MLflow refused ${name}/${version}`);
      throw await notFound(
        name,
        () =>
          apiError(error, 'VERSION_NOT_FOUND', `Registered model ${JSON.stringify(name)} has no version ${version}.`, {
            name,
            version,
          }),
        signal,
      );
    }
  }

  async function resolveOnline(ref: string, signal?: AbortSignal): Promise<ResolvedModel> {
    const selector = parseMlflowRef(ref);
    const { name } = selector;
    let mv: MlflowModelVersion;
    if (selector.kind === 'version') mv = await getVersion(name, selector.version, signal);
    else if (selector.kind === 'alias') {
      try {
        const res = await rest<{ model_version: MlflowModelVersion }>({
          method: 'GET',
          path: 'registered-models/alias',
          query: { name, alias: selector.alias },
          idempotent: true,
          signal,
        });
        mv = res.model_version;
      } catch (error) {
        if (!(error instanceof MlflowApiError)) throw error;
        // MLflow answers 400 INVALID_PARAMETER_VALUE both for an unknown alias and for an unknown model.
        throw await notFound(
          name,
          () =>
            apiError(
              error,
              'ALIAS_NOT_FOUND',
              `Registered model ${JSON.stringify(name)} has no alias ${JSON.stringify(selector.alias)}.`,
              { name, alias: selector.alias },
            ),
          signal,
        );
      }
    } else {
      const versions = (await versionsWithAliases(name, signal)).filter(
        (v) => v.status === undefined || v.status === 'READY',
      );
      const newest = versions.sort((a, b) => Number(b.version) - Number(a.version))[0];
      if (newest === undefined) {
        throw new ModelshipError(
          'VERSION_NOT_FOUND',
          `Registered model ${JSON.stringify(name)} has no READY version yet.`,
          { details: { name } },
        );
      }
      mv = newest;
    }
    return {
      ...(await withBaseline(toInfo(mv), mv, signal)),
      ref,
      location: `models:/${mv.name}/${mv.version}`,
      versionRef: `models:/${mv.name}/${mv.version}`,
    };
  }

  async function locateFile(
    model: ResolvedModel,
    signal?: AbortSignal,
  ): Promise<{ url: string; headers?: Record<string, string>; size?: number }> {
    const { artifact_uri: uri } = await rest<{ artifact_uri?: string }>({
      method: 'GET',
      path: 'model-versions/get-download-uri',
      query: { name: model.name, version: model.version },
      idempotent: true,
      signal,
    }).catch(async (error: unknown) => {
      if (error instanceof MlflowApiError)
        throw await notFound(
          model.name,
          () =>
            apiError(
              error,
              'VERSION_NOT_FOUND',
              `Registered model ${JSON.stringify(model.name)} has no version ${model.version}.`,
            ),
          signal,
        );
      throw error;
    });
    if (uri === undefined || uri === '')
      throw new ModelshipError(
        'UNSUPPORTED_MODEL_FORMAT',
        `MLflow has no artifact location for ${model.name}/${model.version}.`,
      );
    const what = `${model.name}/${model.version} (${redactUrl(uri) === '<invalid URL>' ? uri : redactUrl(uri)})`;
    // A source that is the .onnx file itself (not an MLflow model directory) is used as is.
    if (/\.onnx$/i.test(uri.split(/[?#]/)[0] as string)) {
      const dir = await artifactDir(uri, trackingUri, rest, signal);
      const url = dir.fileUrl('');
      return { url, ...(dir.authenticated ? { headers: auth } : {}) };
    }
    const dir = await artifactDir(uri, trackingUri, rest, signal);
    const headers = dir.authenticated ? auth : undefined;
    const mlmodel = new TextDecoder().decode(
      await sources
        .getBytes(dir.fileUrl('MLmodel'), { signal, ...(headers === undefined ? {} : { headers }) })
        .catch((error: unknown) => {
          // The artifact proxy answers a missing file with a 500; say what is missing rather than "server error".
          if (ModelshipError.isInstance(error) && (error.code === 'MODEL_NOT_FOUND' || error.details?.status === 500)) {
            throw new ModelshipError(
              'UNSUPPORTED_MODEL_FORMAT',
              `${what} has no readable MLmodel file; register an MLflow model directory (mlflow.onnx.log_model) or the .onnx file itself.`,
              { cause: error },
            );
          }
          throw error;
        }),
    );
    const file = onnxDataFile(parseMlmodel(mlmodel), what);
    return { url: dir.fileUrl(file), ...(headers === undefined ? {} : { headers }) };
  }

  const driver = defineRegistry<MlflowPublishInput>({
    kind: 'mlflow',
    identity: `mlflow ${publicUri}`,
    parseRef: parseMlflowRef,
    resolve: resolveOnline,
    locate: locateFile,
    async listVersions(name, signal) {
      const versions = await versionsWithAliases(name, signal);
      return versions.map(toInfo).sort((a, b) => Number(a.version) - Number(b.version));
    },
    publish: (input, callOptions) =>
      publishToMlflow(
        { rest, sources, trackingUri, auth, registrationTimeoutMs: parsed.registrationTimeoutMs ?? 300_000 },
        input,
        callOptions,
      ),
    async setAlias(name, alias, version) {
      assertMlflowAlias(alias);
      try {
        await rest({
          method: 'POST',
          path: 'registered-models/alias',
          body: { name, alias, version: String(version) },
          idempotent: true,
        });
      } catch (error) {
        if (!(error instanceof MlflowApiError)) throw error;
        throw await notFound(name, () =>
          apiError(error, 'VERSION_NOT_FOUND', `Cannot point ${JSON.stringify(alias)} at ${name}/${version}.`, {
            name,
            version,
          }),
        );
      }
    },
    async deleteAlias(name, alias) {
      assertMlflowAlias(alias);
      try {
        // MLflow reads DELETE parameters from a JSON body, not from the query string.
        await rest({ method: 'DELETE', path: 'registered-models/alias', body: { name, alias }, idempotent: true });
      } catch (error) {
        if (!(error instanceof MlflowApiError)) throw error;
        throw await notFound(name, () =>
          apiError(
            error,
            'ALIAS_NOT_FOUND',
            `Registered model ${JSON.stringify(name)} has no alias ${JSON.stringify(alias)}.`,
            { name, alias },
          ),
        );
      }
    },
    watch: { intervalMs: parsed.watchIntervalMs ?? 30_000 },
  });
  return {
    ...withModelCache(driver, store, parsed),
    kind: 'mlflow',
    trackingUri: publicUri,
    sharedState: createMlflowSharedState(rest),
  } as MlflowRegistry;
}
