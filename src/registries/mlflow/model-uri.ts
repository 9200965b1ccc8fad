import { ModelshipError } from '../../errors/index.js';

/** A parsed MLflow model reference. */
export type MlflowRef =
  | { readonly name: string; readonly kind: 'version'; readonly version: string }
  | { readonly name: string; readonly kind: 'alias'; readonly alias: string }
  | { readonly name: string; readonly kind: 'latest' };

const VERSION = /^[1-9][0-9]{0,17}$/;

/**
 * Parses `models:/name/3`, `models:/name@champion`, `models:/name/latest` and the bare forms `name/3`,
 * `name@champion`, `name/latest`, `name` (latest). Names follow MLflow (anything but `/` and `@` here); aliases
 * follow MLflow's rule (letters, digits, `_`, `-`). Stage names (`models:/name/Production`) are deprecated in MLflow
 * and refused with a hint to use an alias.
 */
export function parseMlflowRef(ref: string): MlflowRef {
  const bad = (why: string): ModelshipError =>
    new ModelshipError(
      'INVALID_REF',
      `Invalid MLflow model reference ${JSON.stringify(ref)}: ${why}. Use models:/name/3, models:/name@alias or models:/name/latest.`,
    );
  if (typeof ref !== 'string' || ref.trim() === '') throw bad('empty');
  let body = ref;
  if (ref.startsWith('models:')) {
    if (!ref.startsWith('models:/')) throw bad('expected models:/…');
    body = ref.slice('models:/'.length);
  }
  const at = body.lastIndexOf('@');
  const slash = body.indexOf('/');
  if (at >= 0) {
    const name = body.slice(0, at);
    const alias = body.slice(at + 1);
    if (name === '' || name.includes('/')) throw bad('bad model name');
    if (!/^[\w-]+$/.test(alias)) throw bad('an alias has only letters, digits, "_" and "-"');
    return alias.toLowerCase() === 'latest' ? { name, kind: 'latest' } : { name, kind: 'alias', alias };
  }
  if (slash >= 0) {
    const name = body.slice(0, slash);
    const selector = body.slice(slash + 1);
    if (name === '') throw bad('bad model name');
    if (selector.toLowerCase() === 'latest') return { name, kind: 'latest' };
    if (VERSION.test(selector)) return { name, kind: 'version', version: selector };
    throw bad(
      `${JSON.stringify(selector)} is not a version; stages are deprecated in MLflow, use an alias (models:/${name}@${selector.toLowerCase()})`,
    );
  }
  return { name: body, kind: 'latest' };
}

/** Throws INVALID_ARGUMENT for alias names MLflow refuses (`latest`, `v<N>`, characters other than `\w` and `-`). */
export function assertMlflowAlias(alias: string): void {
  if (
    typeof alias !== 'string' ||
    !/^[\w-]{1,255}$/.test(alias) ||
    alias.toLowerCase() === 'latest' ||
    /^[vV]\d+$/.test(alias)
  ) {
    throw new ModelshipError(
      'INVALID_ARGUMENT',
      `Invalid alias ${JSON.stringify(alias)}: MLflow aliases use letters, digits, "_" and "-"; "latest" and "v<N>" are reserved.`,
    );
  }
}
