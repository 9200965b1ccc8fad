import { ModelshipError } from '../../errors/index.js';

/** A parsed Vertex AI Model Registry reference. */
export interface VertexRef {
  /** Set when the reference names them (`projects/p/locations/l/models/m`); else the registry's. */
  readonly project?: string;
  readonly location?: string;
  /** The model id (the last part of its resource name). */
  readonly model: string;
  /** `default`: the model's default version (what Vertex serves a bare name as); `latest`: the highest version id. */
  readonly kind: 'default' | 'latest' | 'version' | 'alias';
  /** The version id or alias, for `version` and `alias`. */
  readonly selector?: string;
}

const MODEL = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,127}$/;
/** Vertex's alias rule (models.mergeVersionAliases). */
export const VERTEX_ALIAS = /^[a-z][a-zA-Z0-9-]{0,126}[a-z-0-9]$/;
const FULL = /^projects\/([^/@]+)\/locations\/([^/@]+)\/models\/([^/@]+)$/;

/**
 * Parses `vertex:projects/<p>/locations/<l>/models/<m>@<alias|versionId>`, the short `vertex:<m>@<alias|versionId>`
 * (project and location from the registry), `vertex:<m>` (its `default` version, as Vertex reads a bare name) and
 * `vertex:<m>@latest` (the highest version id). The `vertex:` prefix may be left out.
 */
export function parseVertexRef(ref: string): VertexRef {
  const bad = (why: string): ModelshipError =>
    new ModelshipError(
      'INVALID_REF',
      `Invalid Vertex AI model reference ${JSON.stringify(String(ref).slice(0, 200))}: ${why}. Use vertex:<model>@<alias>, vertex:<model>@<versionId>, vertex:<model> (its default version) or vertex:projects/<p>/locations/<l>/models/<model>@<alias>.`,
    );
  if (typeof ref !== 'string' || ref.trim() === '') throw bad('empty');
  const body = ref.startsWith('vertex:') ? ref.slice('vertex:'.length) : ref;
  const at = body.indexOf('@');
  const name = at < 0 ? body : body.slice(0, at);
  const selector = at < 0 ? undefined : body.slice(at + 1);
  let project: string | undefined;
  let location: string | undefined;
  let model = name;
  const full = FULL.exec(name);
  if (full) {
    [, project, location, model] = full as unknown as [string, string, string, string];
  } else if (name.includes('/')) throw bad('expected projects/<p>/locations/<l>/models/<model>');
  if (!MODEL.test(model)) throw bad('a model id has letters, digits, "_" and "-"');
  const where = { ...(project === undefined ? {} : { project }), ...(location === undefined ? {} : { location }) };
  if (selector === undefined) return { ...where, model, kind: 'default' };
  if (selector === 'latest') return { ...where, model, kind: 'latest' };
  if (/^[1-9]\d{0,17}$/.test(selector)) return { ...where, model, kind: 'version', selector };
  if (VERTEX_ALIAS.test(selector)) return { ...where, model, kind: 'alias', selector };
  throw bad(`${JSON.stringify(selector)} is neither a version id nor an alias ([a-z][a-zA-Z0-9-]*)`);
}
