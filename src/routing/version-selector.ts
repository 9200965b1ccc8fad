import { isPathRef, parseNamedRef } from '../core/ref.js';
import { ModelshipError } from '../errors/index.js';
import type { VersionRef } from './deployment-options.js';

/** Where a deployment's versions come from: a model name in its registry, written as `prefix` + named ref. */
export interface RegistrySource {
  readonly name: string;
  /** `''` for `mnist/3`, `models:/` for MLflow's `models:/mnist/3`. */
  readonly prefix: string;
}

/** Longer than any valid `name@alias` (128 + 1 + 64): refused before it is looked at. */
const MAX_SELECTOR = 200;
const VERSION = /^[1-9][0-9]{0,15}$/;
// Only these prefixes are registry name references; anything else with a scheme (file:, http:, s3:) is a location.
const PREFIXES = ['models:/', ''];

/**
 * The registry model a deployment's stable reference names (`mnist@production` → mnist), or undefined when it
 * is a file path, a URL or a remote endpoint: those deployments have no "own model" to pick versions of.
 */
export function registrySource(stable: VersionRef): RegistrySource | undefined {
  if (typeof stable !== 'string') return undefined;
  const prefix = PREFIXES.find((p) => stable.startsWith(p)) as string;
  const rest = stable.slice(prefix.length);
  if (isPathRef(rest)) return undefined;
  try {
    return { name: parseNamedRef(rest).name, prefix };
  } catch {
    return undefined;
  }
}

/**
 * Turns what an operator asked for over HTTP (`"5"`, `"mnist/5"`, `"mnist@candidate"`) into a reference to a
 * version of the deployment's own model in its own registry. Anything else — paths, URLs, other schemes, other
 * models, `..`, absurd lengths, non-strings — is INVALID_REF before anything is loaded: the admin route must not
 * become a way to read server files or make the server fetch URLs (see docs/security.md). The message never
 * repeats what was sent.
 */
export function selectorToRef(source: RegistrySource | undefined, selector: unknown, deployment: string): string {
  if (source === undefined) {
    throw new ModelshipError(
      'INVALID_REF',
      `Deployment ${deployment} does not serve a registry model (its stable version is a file or a remote endpoint), so the admin route cannot switch it; call deployment.switchTo() from the application instead.`,
    );
  }
  const { name, prefix } = source;
  const refused = new ModelshipError(
    'INVALID_REF',
    `Deployment ${deployment} switches only to versions of its own model ${JSON.stringify(name)} in its registry: give a version or an alias, e.g. "2", "${name}/2" or "${name}@candidate".`,
  );
  if (typeof selector !== 'string' || selector.length === 0 || selector.length > MAX_SELECTOR) throw refused;
  if (VERSION.test(selector)) return `${prefix}${name}/${selector}`;
  let parsed;
  try {
    parsed = parseNamedRef(selector);
  } catch {
    throw refused;
  }
  // A bare name is "latest"; accepted only spelled out, so that a typo never switches to the newest version.
  if (parsed.name !== name || !(selector.includes('/') || selector.includes('@'))) throw refused;
  return `${prefix}${selector}`;
}
