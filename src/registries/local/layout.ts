import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { assertModelName, isVersion } from '../../core/ref.js';
import { ModelshipError } from '../../errors/index.js';
import { hasErrnoCode, readJsonFile } from '../../platform/node/fs-atomic.js';
import type { ModelLineage } from '../../spec/lineage.js';
import type { ModelVersionInfo } from '../../spec/registry.js';

/** File name of the model inside a version directory. */
export const LOCAL_MODEL_FILE = 'model.onnx';
/** File name of the per-version metadata; a version directory without it is invisible. */
export const LOCAL_META_FILE = 'meta.json';
/** File name of the per-model alias map (`{"production":"3"}`). */
export const LOCAL_ALIASES_FILE = 'aliases.json';

/** What `meta.json` holds for each version. */
export interface LocalModelMeta {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
  readonly size: number;
  readonly createdAt: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly source?: string;
  readonly lineage?: ModelLineage;
  readonly format: 'onnx';
}

/** A version as the local registry reports it: the spec's info plus where the model came from. */
export interface LocalModelVersionInfo extends ModelVersionInfo {
  readonly sha256: string;
  readonly size: number;
  readonly createdAt: string;
  readonly source?: string;
}

const metaSchema = z.object({
  name: z.string(),
  version: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits'),
  size: z.number().int().nonnegative(),
  createdAt: z.string(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  source: z.string().optional(),
  // Validated when published; read back as recorded, so fields added by a newer version are kept.
  lineage: z.record(z.string(), z.unknown()).optional(),
  format: z.string().optional(),
});

const META_FIX = 'Restore it from version control, or delete the version directory and publish again.';

/** True for the errno codes that mean "that path is not there". */
export function isMissing(error: unknown): boolean {
  return hasErrnoCode(error, 'ENOENT', 'ENOTDIR');
}

/** Orders version strings numerically; they have no leading zeros, so length decides first. */
export function compareVersions(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** A record's entries sorted by key, so alias files and messages list aliases in a stable order. */
export function sortedEntries(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1));
}

/**
 * Reads and validates a registry JSON file. `undefined` when it is absent; INTERNAL with `fix` in the message
 * when it is unreadable or does not match `schema`. Returns the raw JSON too, for callers that must not lose
 * keys to zod's output object.
 */
export async function readValidatedJson<S extends z.ZodType>(
  file: string,
  schema: S,
  fix: string,
): Promise<{ raw: unknown; data: z.output<S> } | undefined> {
  let raw: unknown;
  try {
    raw = await readJsonFile(file);
  } catch (error) {
    if (isMissing(error)) return undefined;
    if (ModelshipError.isInstance(error)) throw corrupt(file, 'not valid JSON', error, fix);
    throw error;
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw corrupt(file, z.prettifyError(result.error).replace(/\n/g, ' '), result.error, fix);
  return { raw, data: result.data };
}

function corrupt(file: string, why: string, cause: unknown, fix: string): ModelshipError {
  return new ModelshipError('INTERNAL', `${file} is corrupt: ${why}. ${fix}`, { cause, details: { file } });
}

/** Builds a meta record in the one field order `meta.json` is written in. */
export function toMeta(fields: Omit<LocalModelMeta, 'format'>): LocalModelMeta {
  return {
    name: fields.name,
    version: fields.version,
    sha256: fields.sha256,
    size: fields.size,
    createdAt: fields.createdAt,
    metadata: fields.metadata,
    ...(fields.source === undefined ? {} : { source: fields.source }),
    ...(fields.lineage === undefined ? {} : { lineage: fields.lineage }),
    format: 'onnx',
  };
}

/** A version's public info: its meta plus the aliases (from `aliases`) that point at it. */
export function toInfo(meta: LocalModelMeta, aliases: Record<string, string>): LocalModelVersionInfo {
  return {
    name: meta.name,
    version: meta.version,
    sha256: meta.sha256,
    size: meta.size,
    createdAt: meta.createdAt,
    aliases: Object.keys(aliases)
      .filter((a) => aliases[a] === meta.version)
      .sort(),
    metadata: meta.metadata,
    ...(meta.source === undefined ? {} : { source: meta.source }),
    ...(meta.lineage === undefined ? {} : { lineage: meta.lineage }),
  };
}

/** Paths and read-only views of one registry directory. All reads treat a missing path as "absent". */
export interface LocalLayout {
  /** Absolute path of the registry directory. */
  readonly root: string;
  modelDir(name: string): string;
  versionDir(name: string, version: string): string;
  modelFile(name: string, version: string): string;
  /** Every numeric directory name under the model, visible or not, sorted; `undefined` when the model dir is absent. */
  versionDirs(name: string): Promise<string[] | undefined>;
  /** The version's meta.json, or `undefined` when the version is absent or not fully published. */
  readMeta(name: string, version: string): Promise<LocalModelMeta | undefined>;
  /** Versions that have a meta.json, sorted. */
  visibleVersions(name: string): Promise<string[]>;
  hasVisibleVersion(name: string): Promise<boolean>;
  /** Names of models with at least one visible version, sorted; `[]` when the root is absent. */
  listModelNames(): Promise<string[]>;
}

/** The layout of the registry at `root` (already absolute). */
export function createLayout(root: string): LocalLayout {
  const modelDir = (name: string): string => join(root, name);
  const versionDir = (name: string, version: string): string => join(root, name, version);
  // A version directory only becomes visible once its meta.json exists; publish writes it last.
  const isVisible = (name: string, version: string): Promise<boolean> =>
    stat(join(versionDir(name, version), LOCAL_META_FILE)).then(
      () => true,
      () => false,
    );

  async function versionDirs(name: string): Promise<string[] | undefined> {
    return (await subdirectories(modelDir(name)))?.filter(isVersion).sort(compareVersions);
  }

  async function readMeta(name: string, version: string): Promise<LocalModelMeta | undefined> {
    const read = await readValidatedJson(join(versionDir(name, version), LOCAL_META_FILE), metaSchema, META_FIX);
    if (read === undefined) return undefined;
    const m = read.data;
    // The directory is the truth: a hand-copied version directory keeps working under its new number.
    return toMeta({
      name,
      version,
      sha256: m.sha256,
      size: m.size,
      createdAt: m.createdAt,
      metadata: m.metadata ?? {},
      source: m.source,
      lineage: m.lineage as ModelLineage | undefined,
    });
  }

  async function visibleVersions(name: string): Promise<string[]> {
    const dirs = (await versionDirs(name)) ?? [];
    const present = await Promise.all(dirs.map((v) => isVisible(name, v)));
    return dirs.filter((_, i) => present[i]);
  }

  async function hasVisibleVersion(name: string): Promise<boolean> {
    const dirs = (await versionDirs(name)) ?? [];
    // Newest first and one at a time: the newest is almost always visible, so this usually costs one stat.
    for (let i = dirs.length - 1; i >= 0; i--) {
      if (await isVisible(name, dirs[i] as string)) return true;
    }
    return false;
  }

  async function listModelNames(): Promise<string[]> {
    const candidates = ((await subdirectories(root)) ?? []).filter((n) => {
      if (n.startsWith('.')) return false;
      try {
        assertModelName(n);
        return true;
      } catch {
        return false;
      }
    });
    const visible = await Promise.all(candidates.map((n) => hasVisibleVersion(n)));
    return candidates.filter((_, i) => visible[i]).sort();
  }

  return {
    root,
    modelDir,
    versionDir,
    modelFile: (name, version) => join(versionDir(name, version), LOCAL_MODEL_FILE),
    versionDirs,
    readMeta,
    visibleVersions,
    hasVisibleVersion,
    listModelNames,
  };
}

/** Names of the directories (or symlinks, which may point at one) in `dir`; `undefined` when `dir` is absent. */
async function subdirectories(dir: string): Promise<string[] | undefined> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() || e.isSymbolicLink()).map((e) => e.name);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}
