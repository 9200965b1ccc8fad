import type { ModelVersionInfo } from '../../spec/registry.js';
import type { WandbArtifact } from './queries.js';

/** Metadata keys modelship writes when publishing (W&B itself records only MD5 digests). */
export const META_SHA256 = 'modelship.sha256';
/** Artifact metadata key for the model file's size in bytes. */
export const META_SIZE = 'modelship.size';

/**
 * A version as modelship reports it: `v<versionIndex>`, as W&B spells it. `latest` is left out of the aliases:
 * W&B moves it on every version, and `name` without a selector already means it.
 */
export function toInfo(a: WandbArtifact, name: string): ModelVersionInfo {
  let meta: Record<string, unknown> = {};
  try {
    const parsed: unknown = typeof a.metadata === 'string' && a.metadata !== '' ? JSON.parse(a.metadata) : {};
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
      meta = parsed as Record<string, unknown>;
  } catch {
    meta = {};
  }
  const { [META_SHA256]: sha, [META_SIZE]: size, ...rest } = meta;
  const aliases = (a.aliases ?? [])
    .filter((x) => (x.artifactCollection?.name ?? name) === name)
    .map((x) => x.alias)
    .filter((x) => x !== 'latest');
  return {
    name,
    version: `v${a.versionIndex}`,
    ...(typeof sha === 'string' && /^[0-9a-f]{64}$/.test(sha) ? { sha256: sha } : {}),
    ...(typeof size === 'number' && Number.isSafeInteger(size) ? { size } : {}),
    aliases: [...new Set(aliases)].sort(),
    ...(a.createdAt === undefined ? {} : { createdAt: new Date(a.createdAt).toISOString() }),
    metadata: {
      ...rest,
      wandb: {
        artifactId: a.id,
        ...(a.digest ? { digest: a.digest } : {}),
        ...(a.artifactType ? { type: a.artifactType.name } : {}),
        ...(a.description ? { description: a.description } : {}),
      },
    },
  };
}
