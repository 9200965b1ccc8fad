import { ModelshipError } from '../errors/index.js';

/** Which version of a named model a reference selects. */
export type VersionSelector =
  | { readonly kind: 'latest' }
  | { readonly kind: 'version'; readonly version: string }
  | { readonly kind: 'alias'; readonly alias: string };

/** A parsed `name`, `name/3`, `name/latest` or `name@alias` reference. */
export interface NamedRef {
  readonly name: string;
  readonly selector: VersionSelector;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ALIAS = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const VERSION = /^[1-9][0-9]{0,15}$/;

/** Throws INVALID_ARGUMENT unless `name` is a valid model name (letters, digits, `.`, `_`, `-`; no slashes). */
export function assertModelName(name: string): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new ModelshipError(
      'INVALID_ARGUMENT',
      `Invalid model name ${JSON.stringify(name)}: use 1–128 letters, digits, ".", "_" or "-", starting with a letter or digit.`,
    );
  }
}

/**
 * Throws INVALID_ARGUMENT unless `alias` is a valid alias. `latest` and version-like names (`v3`) are reserved
 * because they would be ambiguous with version selectors (MLflow rejects them for the same reason).
 */
export function assertAlias(alias: string): void {
  if (typeof alias !== 'string' || !ALIAS.test(alias) || alias === 'latest' || /^v[0-9]+$/.test(alias)) {
    throw new ModelshipError(
      'INVALID_ARGUMENT',
      `Invalid alias ${JSON.stringify(alias)}: use 1–64 letters, digits, "_" or "-", starting with a letter or "_"; "latest" and "v<N>" are reserved.`,
    );
  }
}

/** True for a version identifier as assigned by the local registry (a positive integer as a string). */
export function isVersion(value: string): boolean {
  return VERSION.test(value);
}

/** Parses `name`, `name/latest`, `name/3` or `name@alias`. Throws INVALID_REF for anything else. */
export function parseNamedRef(ref: string): NamedRef {
  const bad = (why: string): ModelshipError =>
    new ModelshipError(
      'INVALID_REF',
      `Invalid model reference ${JSON.stringify(ref)}: ${why}. Use "name", "name/3" or "name@alias".`,
    );
  if (typeof ref !== 'string' || ref.length === 0) throw bad('empty');
  const at = ref.indexOf('@');
  const slash = ref.indexOf('/');
  if (at >= 0 && slash >= 0) throw bad('give either a version or an alias, not both');
  if (at >= 0) {
    const name = ref.slice(0, at);
    const alias = ref.slice(at + 1);
    if (!NAME.test(name)) throw bad('bad model name');
    if (!ALIAS.test(alias)) throw bad('bad alias');
    return alias === 'latest' ? { name, selector: { kind: 'latest' } } : { name, selector: { kind: 'alias', alias } };
  }
  if (slash >= 0) {
    const name = ref.slice(0, slash);
    const version = ref.slice(slash + 1);
    if (!NAME.test(name)) throw bad('bad model name');
    if (version === 'latest') return { name, selector: { kind: 'latest' } };
    if (!VERSION.test(version))
      throw bad(`version must be a positive integer or "latest", got ${JSON.stringify(version)}`);
    return { name, selector: { kind: 'version', version } };
  }
  if (!NAME.test(ref)) throw bad('bad model name');
  return { name: ref, selector: { kind: 'latest' } };
}

/**
 * True when a reference names a file rather than a registry entry: `./x.onnx`, `../x.onnx`, `/abs/x.onnx`,
 * `file:` URLs, Windows paths, or anything ending in `.onnx`.
 */
export function isPathRef(ref: string): boolean {
  return (
    ref.startsWith('./') ||
    ref.startsWith('../') ||
    ref.startsWith('/') ||
    ref.startsWith('file:') ||
    /^[A-Za-z]:[\\/]/.test(ref) ||
    ref.startsWith('.\\') ||
    /\.onnx$/i.test(ref)
  );
}
