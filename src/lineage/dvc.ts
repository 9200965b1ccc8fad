import { parse } from 'yaml';
import { ModelshipError } from '../errors/index.js';
import type { LineageDvcOut } from '../spec/lineage.js';

type Out = { path?: unknown; md5?: unknown; size?: unknown; hash?: unknown };

/** One output of a `.dvc` file with DVC's `hash` field (`md5` since DVC 3.0; absent in files written by DVC 2.x). */
export type DvcOut = LineageDvcOut & { readonly hash?: string };

// DVC identifies a file by its md5 and a directory by the md5 of its listing, suffixed ".dir".
const MD5 = /^[0-9a-f]{32}(\.dir)?$/;

function parseYaml(text: string, source: string): unknown {
  try {
    // The failsafe schema keeps every scalar a string, so an md5 of digits only is not read as a number.
    return parse(text, { schema: 'failsafe' });
  } catch (error) {
    throw new ModelshipError('INVALID_ARGUMENT', `${source} is not valid YAML (${(error as Error).message}).`, {
      cause: error,
      details: { file: source },
    });
  }
}

function toOuts(list: unknown, source: string): DvcOut[] {
  if (!Array.isArray(list)) return [];
  const outs: DvcOut[] = [];
  for (const item of list as Out[]) {
    if (typeof item !== 'object' || item === null) continue;
    // Outputs stored in a cloud without an md5 (etag, checksum) identify nothing reproducible here: skipped.
    if (typeof item.path !== 'string' || typeof item.md5 !== 'string' || !MD5.test(item.md5)) continue;
    const size = typeof item.size === 'string' && /^\d+$/.test(item.size) ? Number(item.size) : undefined;
    const hash = typeof item.hash === 'string' ? { hash: item.hash } : {};
    outs.push({ path: item.path, md5: item.md5, ...(size === undefined ? {} : { size }), source, ...hash });
  }
  return outs;
}

/**
 * The outputs of a `.dvc` file (`outs: [{ path, md5, size }]`). Paths are as written: relative to the `.dvc`
 * file's directory. `source` names the file in messages and in each result.
 */
export function parseDvcFile(text: string, source: string): LineageDvcOut[] {
  return parseDvcOuts(text, source).map(({ hash: _hash, ...out }) => out);
}

/** Like {@link parseDvcFile}, keeping each output's `hash` (it tells DVC 3's remote layout from DVC 2's). */
export function parseDvcOuts(text: string, source: string): DvcOut[] {
  const doc = parseYaml(text, source) as { outs?: unknown } | null;
  return toOuts(doc?.outs, source);
}

/**
 * The outputs of every stage in a `dvc.lock` (schema 2.0, and the 1.x layout with stages at the top level).
 * Paths are relative to the lock file's directory; each result's `source` is `<source>:<stage>`.
 */
export function parseDvcLock(text: string, source: string): LineageDvcOut[] {
  return parseDvcLockOuts(text, source).map(({ hash: _hash, ...out }) => out);
}

/** Like {@link parseDvcLock}, keeping each output's `hash`. */
export function parseDvcLockOuts(text: string, source: string): DvcOut[] {
  const doc = parseYaml(text, source) as Record<string, unknown> | null;
  if (typeof doc !== 'object' || doc === null) return [];
  const stages = (typeof doc.stages === 'object' && doc.stages !== null ? doc.stages : doc) as Record<string, unknown>;
  const outs: DvcOut[] = [];
  for (const [stage, body] of Object.entries(stages)) {
    if (typeof body !== 'object' || body === null) continue;
    outs.push(...toOuts((body as { outs?: unknown }).outs, `${source}:${stage}`));
  }
  return outs;
}
