import { stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { detectUnresolvedPointer, unresolvedPointerError } from '../../core/lfs-pointer.js';
import { assertAlias, assertModelName, parseNamedRef } from '../../core/ref.js';
import { ModelshipError } from '../../errors/index.js';
import { readSmallFile } from '../../platform/node/read-model-file.js';
import type {
  PublishInput,
  PublishedModel,
  RegistryAdapter,
  RegistryCallOptions,
  ResolvedModel,
  WatchListener,
} from '../../spec/registry.js';
import type { SharedStateStore } from '../../spec/shared-state.js';
import { createAliasStore } from './alias-store.js';
import { aliasNotFound, assertVersionArgument } from '../errors.js';
import { createGuard, modelNotFound, requireModel, versionNotFound } from './errors.js';
import { createLayout, isMissing, toInfo, type LocalModelMeta, type LocalModelVersionInfo } from './layout.js';
import {
  LOCAL_REGISTRY_DEFAULTS,
  parseLocalRegistryOptions,
  type LocalRegistryOptions,
} from './local-registry-options.js';
import { publishModel } from './publish.js';
import { createLocalSharedState } from './shared-state.js';
import { pollRef, type LocalWatchOptions } from './watch.js';

/** A registry stored as plain directories: `<root>/<name>/<version>/model.onnx` + `meta.json`. */
export interface LocalRegistry extends RegistryAdapter {
  readonly specificationVersion: 'v1';
  readonly kind: 'local';
  /** Absolute path of the registry directory. */
  readonly root: string;
  resolve(ref: string, options?: RegistryCallOptions): Promise<ResolvedModel>;
  /** Gives the version's `model.onnx`; checks that it exists and has the recorded size (not the hash). */
  fetch(model: ResolvedModel, options?: RegistryCallOptions): Promise<{ readonly kind: 'file'; readonly path: string }>;
  /** Every version of a model, oldest first. */
  listVersions(name: string, options?: RegistryCallOptions): Promise<LocalModelVersionInfo[]>;
  /** Copies the file in as the next version (numbered 1, 2, …), records its sha256 and sets its aliases. */
  publish(input: PublishInput, options?: RegistryCallOptions): Promise<PublishedModel>;
  /** Points an alias at a version, moving it if it pointed elsewhere. */
  setAlias(name: string, alias: string, version: string): Promise<void>;
  /** Removes an alias; the version stays. */
  deleteAlias(name: string, alias: string): Promise<void>;
  watch(ref: string, listener: WatchListener, options?: LocalWatchOptions): () => void;
  /** Compare-and-set documents under `<root>/.modelship/state/` (a fleet's deployment state). */
  readonly sharedState: SharedStateStore;
  /** One version's info; MODEL_NOT_FOUND / VERSION_NOT_FOUND when absent. */
  getVersion(name: string, version: string, options?: RegistryCallOptions): Promise<LocalModelVersionInfo>;
  /** Names of models with at least one visible version, sorted. An absent root gives `[]`. */
  listModels(options?: RegistryCallOptions): Promise<string[]>;
  /** The model's alias map (`{ production: '3' }`); MODEL_NOT_FOUND for an unknown model. */
  getAliases(name: string, options?: RegistryCallOptions): Promise<Record<string, string>>;
}

/**
 * Creates a registry that keeps models in a plain directory tree, Triton-style, so it can be inspected with
 * `ls`, committed with Git LFS or DVC, and shared by several processes on one machine:
 *
 * ```
 * <root>/<name>/<version>/model.onnx
 * <root>/<name>/<version>/meta.json
 * <root>/<name>/aliases.json
 * ```
 *
 * Publishing is crash-safe (a version appears all at once or not at all) and safe to run from several
 * processes at the same time; alias updates are serialized with a lock file so none is lost.
 *
 * @example
 * ```ts
 * const registry = createLocalRegistry({ root: './models' });
 * await registry.publish({ name: 'mnist', file: './mnist.onnx', aliases: ['candidate'] });
 * await registry.setAlias('mnist', 'production', '1');
 * const model = await registry.resolve('mnist@production'); // { version: '1', location: '/…/models/mnist/1/model.onnx', … }
 * const stop = registry.watch('mnist@production', (next) => console.log('now serving', next.version));
 * ```
 */
export function createLocalRegistry(options: LocalRegistryOptions): LocalRegistry {
  const parsed = parseLocalRegistryOptions(options);
  const root = resolvePath(parsed.root);
  const layout = createLayout(root);
  const aliasStore = createAliasStore(layout, parsed.lockStaleMs ?? LOCAL_REGISTRY_DEFAULTS.lockStaleMs);
  const guard = createGuard(root);
  const watchIntervalMs = parsed.watchIntervalMs ?? LOCAL_REGISTRY_DEFAULTS.watchIntervalMs;

  /**
   * The aliases to report beside a version that was asked for by number (or as latest): a damaged aliases.json must
   * not take down versions that do not depend on it, so they are reported without aliases. Alias lookups still
   * fail on it, naming the file.
   */
  async function aliasesOrNone(name: string): Promise<Record<string, string>> {
    try {
      return await aliasStore.read(name);
    } catch (error) {
      if (ModelshipError.isInstance(error) && error.details?.file !== undefined)
        return Object.create(null) as Record<string, string>;
      throw error;
    }
  }

  async function resolveRef(ref: string): Promise<ResolvedModel> {
    const { name, selector } = parseNamedRef(ref);
    const dirs = await layout.versionDirs(name);
    if (dirs === undefined) throw await modelNotFound(layout, name);
    let meta: LocalModelMeta | undefined;
    let aliases: Record<string, string> | undefined;
    if (selector.kind === 'latest') {
      for (let i = dirs.length - 1; i >= 0 && meta === undefined; i--)
        meta = await layout.readMeta(name, dirs[i] as string);
      if (meta === undefined) throw await modelNotFound(layout, name);
    } else if (selector.kind === 'version') {
      meta = await layout.readMeta(name, selector.version);
      if (meta === undefined) throw await versionNotFound(layout, name, selector.version);
    } else {
      aliases = await aliasStore.read(name);
      const target = aliases[selector.alias];
      if (target === undefined) {
        await requireModel(layout, name);
        throw aliasNotFound(name, selector.alias, aliases);
      }
      meta = await layout.readMeta(name, target);
      if (meta === undefined) {
        throw await versionNotFound(
          layout,
          name,
          target,
          ` (alias ${JSON.stringify(selector.alias)} points at it; move the alias with setAlias)`,
        );
      }
    }
    aliases ??= await aliasesOrNone(name);
    return { ...toInfo(meta, aliases), ref, location: layout.modelFile(name, meta.version) };
  }

  function resolve(ref: string, options?: RegistryCallOptions): Promise<ResolvedModel> {
    return guard(`resolving ${JSON.stringify(ref)}`, options?.signal, () => resolveRef(ref));
  }

  return {
    specificationVersion: 'v1',
    kind: 'local',
    root,

    resolve,

    fetch: (model, options) =>
      guard(`fetching ${model?.name}/${model?.version}`, options?.signal, async () => {
        assertModelName(model.name);
        assertVersionArgument(model.version);
        // Rebuilt from name and version rather than trusting `location`, which the caller could have altered.
        const path = layout.modelFile(model.name, model.version);
        let info;
        try {
          info = await stat(path);
        } catch (error) {
          if (!isMissing(error)) throw error;
          if ((await layout.readMeta(model.name, model.version)) === undefined)
            throw await versionNotFound(layout, model.name, model.version);
          throw new ModelshipError(
            'INTEGRITY_MISMATCH',
            `${path} is missing although its meta.json exists. Restore the file (git lfs pull / dvc pull?) or publish again.`,
            {
              details: { name: model.name, version: model.version },
            },
          );
        }
        // stat follows symlinks: a model.onnx linked to /dev/zero or a FIFO has no size to check and never ends.
        if (!info.isFile()) {
          throw new ModelshipError(
            'INTEGRITY_MISMATCH',
            `${path} is not a regular file (a device, FIFO or socket, or a link to one); nothing was read. Restore the model file or publish again.`,
            {
              details: { name: model.name, version: model.version },
            },
          );
        }
        if (model.size !== undefined && info.size !== model.size) {
          const pointer = info.size <= 1024 ? detectUnresolvedPointer(await readSmallFile(path, 1024)) : undefined;
          if (pointer !== undefined) throw unresolvedPointerError(`${model.name}/${model.version}`, pointer);
          throw new ModelshipError(
            'INTEGRITY_MISMATCH',
            `${path} is ${info.size} bytes but ${model.size} were recorded; it may be a Git LFS pointer or was modified. Restore it or publish again.`,
            { details: { name: model.name, version: model.version, expectedSize: model.size, actualSize: info.size } },
          );
        }
        return { kind: 'file', path } as const;
      }),

    listVersions: (name, options) =>
      guard(`listing versions of ${JSON.stringify(name)}`, options?.signal, async () => {
        assertModelName(name);
        const dirs = (await layout.versionDirs(name)) ?? [];
        const metas = (await Promise.all(dirs.map((v) => layout.readMeta(name, v)))).filter(
          (m): m is LocalModelMeta => m !== undefined,
        );
        if (metas.length === 0) throw await modelNotFound(layout, name);
        const aliases = await aliasStore.read(name);
        return metas.map((m) => toInfo(m, aliases));
      }),

    publish: (input, options) => publishModel({ layout, aliases: aliasStore, guard }, input, options),

    setAlias: (name, alias, version) =>
      guard(`setting alias ${JSON.stringify(alias)} of ${JSON.stringify(name)}`, undefined, async () => {
        assertModelName(name);
        assertAlias(alias);
        assertVersionArgument(version);
        await requireModel(layout, name);
        await aliasStore.update(name, async (aliases) => {
          if ((await layout.readMeta(name, version)) === undefined) throw await versionNotFound(layout, name, version);
          aliases[alias] = version;
        });
      }),

    deleteAlias: (name, alias) =>
      guard(`deleting alias ${JSON.stringify(alias)} of ${JSON.stringify(name)}`, undefined, async () => {
        assertModelName(name);
        assertAlias(alias);
        await requireModel(layout, name);
        await aliasStore.update(name, async (aliases) => {
          if (!Object.hasOwn(aliases, alias)) throw aliasNotFound(name, alias, aliases);
          delete aliases[alias];
        });
      }),

    watch: (ref, listener, watchOptions) => pollRef(resolve, watchIntervalMs, ref, listener, watchOptions),

    sharedState: createLocalSharedState(root, parsed.lockStaleMs ?? LOCAL_REGISTRY_DEFAULTS.lockStaleMs),

    getVersion: (name, version, options) =>
      guard(`reading ${JSON.stringify(name)} version ${version}`, options?.signal, async () => {
        assertModelName(name);
        assertVersionArgument(version);
        const meta = await layout.readMeta(name, version);
        if (meta === undefined) throw await versionNotFound(layout, name, version);
        return toInfo(meta, await aliasesOrNone(name));
      }),

    listModels: (options) => guard('listing models', options?.signal, () => layout.listModelNames()),

    getAliases: (name, options) =>
      guard(`reading aliases of ${JSON.stringify(name)}`, options?.signal, async () => {
        assertModelName(name);
        await requireModel(layout, name);
        return { ...(await aliasStore.read(name)) };
      }),
  };
}
