import { posix } from 'node:path';
import { parse, stringify } from 'yaml';
import { ModelshipError } from '../../errors/index.js';

/** An artifact's annotation: `artifacts.yaml` (GTO) or the `artifacts:` section of `dvc.yaml` (DVC ≥ 3). */
export interface ArtifactAnnotation {
  /** Path of the model file, relative to the repository root. */
  readonly path: string;
  readonly type?: string;
  readonly description?: string;
  readonly labels: readonly string[];
  /** `meta` (dvc.yaml) or `custom` (artifacts.yaml): free-form metadata. */
  readonly meta: Readonly<Record<string, unknown>>;
}

/** A DVC remote from `.dvc/config`. */
export interface DvcRemote {
  readonly name: string;
  readonly url: string;
  /** `endpointurl` of an S3 remote (MinIO, s3rver…). */
  readonly endpointUrl?: string;
  /** Every key of the remote's section (`account_name`, `connection_string`, `credentialpath`, …). */
  readonly settings: ReadonlyMap<string, string>;
}

function yamlOf(text: string, file: string): unknown {
  try {
    return parse(text);
  } catch (error) {
    throw new ModelshipError(
      'INVALID_ARGUMENT',
      `${file} in the model repository is not valid YAML; fix it and tag again.`,
      {
        cause: error,
        details: { file },
      },
    );
  }
}

/** A repository-relative POSIX path with no `..`, absolute or empty part; throws INVALID_ARGUMENT otherwise. */
export function safeRepoPath(path: unknown, file: string): string {
  const bad =
    typeof path !== 'string' ||
    path === '' ||
    path.includes('\0') ||
    path.includes('\\') ||
    posix.isAbsolute(path) ||
    posix.normalize(path) !== path ||
    path.split('/').some((p) => p === '..' || p === '.' || p === '');
  if (bad)
    throw new ModelshipError(
      'INVALID_ARGUMENT',
      `${file} names the path ${JSON.stringify(String(path).slice(0, 200))}, which is not a plain path inside the repository.`,
      { details: { file } },
    );
  return path as string;
}

/**
 * Reads `name`'s annotation from `dvc.yaml` (`artifacts:`) or `artifacts.yaml`; `undefined` when neither names it.
 * `dvc.yaml` wins when both do, as DVC reads it.
 */
export function readAnnotation(
  name: string,
  files: { readonly dvcYaml?: string; readonly artifactsYaml?: string },
): ArtifactAnnotation | undefined {
  const fromDvc =
    files.dvcYaml === undefined
      ? undefined
      : (yamlOf(files.dvcYaml, 'dvc.yaml') as { artifacts?: unknown } | null)?.artifacts;
  const fromGto = files.artifactsYaml === undefined ? undefined : yamlOf(files.artifactsYaml, 'artifacts.yaml');
  for (const [doc, file, metaKey, descKey] of [
    [fromDvc, 'dvc.yaml', 'meta', 'desc'],
    [fromGto, 'artifacts.yaml', 'custom', 'description'],
  ] as const) {
    if (typeof doc !== 'object' || doc === null) continue;
    const entry = (doc as Record<string, unknown>)[name];
    if (typeof entry !== 'object' || entry === null) continue;
    const e = entry as Record<string, unknown>;
    const meta = e[metaKey];
    return {
      path: safeRepoPath(e.path, file),
      ...(typeof e.type === 'string' ? { type: e.type } : {}),
      ...(typeof e[descKey] === 'string' ? { description: e[descKey] as string } : {}),
      labels: Array.isArray(e.labels) ? e.labels.filter((l): l is string => typeof l === 'string') : [],
      meta: typeof meta === 'object' && meta !== null && !Array.isArray(meta) ? (meta as Record<string, unknown>) : {},
    };
  }
  return undefined;
}

/** Parses DVC's config (configobj INI: `[core]`, `['remote "name"']`) into its sections. */
export function parseDvcConfig(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*(['"]?)(.*?)\1\s*\]$/.exec(line);
    if (header) {
      const key = (header[2] ?? '').replace(/\s+/g, ' ');
      current = sections.get(key) ?? new Map();
      sections.set(key, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || current === undefined) continue;
    let value = line.slice(eq + 1).trim();
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    current.set(line.slice(0, eq).trim().toLowerCase(), value);
  }
  return sections;
}

/** The remote `name` (or the default `core.remote`) of a DVC config; `undefined` when there is none. */
export function pickRemote(config: Map<string, Map<string, string>>, name?: string): DvcRemote | undefined {
  const chosen = name ?? config.get('core')?.get('remote');
  if (chosen === undefined) return undefined;
  const section = config.get(`remote "${chosen}"`);
  const url = section?.get('url');
  if (url === undefined) return undefined;
  const endpointUrl = section?.get('endpointurl');
  return {
    name: chosen,
    url,
    ...(endpointUrl === undefined ? {} : { endpointUrl }),
    settings: section ?? new Map(),
  };
}

/**
 * Where DVC keeps content `md5` on a remote: DVC 3 (`hash: md5`) under `files/md5/ab/cdef…`, DVC 2 (no `hash`
 * field) at `ab/cdef…`. `base` is the remote URL or directory.
 */
export function remoteObjectPath(base: string, md5: string, dvc3: boolean): string {
  if (!/^[0-9a-f]{32}$/.test(md5))
    throw new ModelshipError(
      'UNSUPPORTED_MODEL_FORMAT',
      `The DVC output is a directory (md5 ${md5.slice(0, 12)}…); track the .onnx file itself with dvc add.`,
    );
  const root = base.replace(/\/+$/, '');
  return `${root}/${dvc3 ? 'files/md5/' : ''}${md5.slice(0, 2)}/${md5.slice(2)}`;
}

/** What modelship keeps in a `.dvc` file's top-level `meta` (a field DVC documents as free for users and ignores). */
export interface DvcFileMeta {
  /** The model's sha256: the cache knows the digest before downloading. */
  readonly sha256?: string;
  /** Lineage recorded at publish time (validated again when read). */
  readonly lineage?: unknown;
  /** Where the drift baseline is committed beside the model, and its sha256. */
  readonly baseline?: { readonly file: string; readonly sha256: string };
}

/** The `.dvc` file DVC 3 writes for one file (`dvc add`), byte for byte, plus modelship's `meta` when given. */
export function dvcFileText(md5: string, size: number, fileName: string, meta?: DvcFileMeta): string {
  const extra = meta === undefined || Object.keys(meta).length === 0 ? '' : stringify({ meta });
  return `outs:\n- md5: ${md5}\n  size: ${size}\n  hash: md5\n  path: ${fileName}\n${extra}`;
}

/** modelship's `meta` of a `.dvc` file (see {@link DvcFileMeta}); fields that do not look right are left out. */
export function readDvcFileMeta(text: string): DvcFileMeta {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return {};
  }
  const meta = (doc as { meta?: Record<string, unknown> } | null)?.meta;
  if (typeof meta !== 'object' || meta === null) return {};
  const hex = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
  const b = meta.baseline as { file?: unknown; sha256?: unknown } | undefined;
  return {
    ...(hex(meta.sha256) ? { sha256: meta.sha256 } : {}),
    ...(meta.lineage === undefined ? {} : { lineage: meta.lineage }),
    ...(typeof b === 'object' && b !== null && typeof b.file === 'string' && hex(b.sha256)
      ? { baseline: { file: b.file, sha256: b.sha256 } }
      : {}),
  };
}
