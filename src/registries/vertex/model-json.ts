import type { ModelVersionInfo } from '../../spec/registry.js';

/** The fields of a Vertex AI `Model` (one version of it) that modelship reads. */
export interface VertexModelJson {
  /** `projects/<number>/locations/<l>/models/<id>` (no version suffix). */
  readonly name: string;
  readonly versionId: string;
  readonly versionAliases?: string[];
  readonly versionCreateTime?: string;
  readonly versionDescription?: string;
  readonly displayName?: string;
  readonly artifactUri?: string;
  readonly labels?: Record<string, string>;
  readonly metadata?: unknown;
}

/** Where modelship keeps the file's digest inside `Model.metadata` (immutable, set by `publish`). */
export const DIGEST_KEY = 'modelship';

interface Digest {
  readonly sha256?: string;
  readonly size?: number;
}

/** The model id: the last part of the resource name. */
export const modelIdOf = (m: VertexModelJson): string => m.name.split('/').pop() as string;

/**
 * A Vertex model version as modelship lists it. Aliases are `versionAliases` without `default` (Vertex's own marker
 * of the version a bare name serves: `vertex:<model>` reads it); metadata merges `labels`, the user part of
 * `metadata` and `versionDescription` (as `description`).
 */
export function toVersionInfo(m: VertexModelJson): ModelVersionInfo {
  const raw =
    m.metadata !== null && typeof m.metadata === 'object' && !Array.isArray(m.metadata)
      ? (m.metadata as Record<string, unknown>)
      : {};
  const { [DIGEST_KEY]: digestRaw, ...user } = raw;
  const digest = (digestRaw ?? {}) as Digest;
  const sha256 = typeof digest.sha256 === 'string' && /^[0-9a-f]{64}$/.test(digest.sha256) ? digest.sha256 : undefined;
  const size = typeof digest.size === 'number' && Number.isSafeInteger(digest.size) ? digest.size : undefined;
  return {
    name: modelIdOf(m),
    version: m.versionId,
    ...(sha256 === undefined ? {} : { sha256 }),
    ...(size === undefined ? {} : { size }),
    aliases: (m.versionAliases ?? []).filter((a) => a !== 'default').sort(),
    ...(m.versionCreateTime === undefined ? {} : { createdAt: m.versionCreateTime }),
    metadata: {
      ...(m.labels ?? {}),
      ...user,
      ...(m.versionDescription === undefined || m.versionDescription === ''
        ? {}
        : { description: m.versionDescription }),
      ...((m.versionAliases ?? []).includes('default') ? { vertexDefaultVersion: true } : {}),
    },
  };
}
