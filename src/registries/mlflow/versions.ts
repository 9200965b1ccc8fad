import { redactUrl } from '../../core/redact.js';
import type { ModelLineage } from '../../spec/lineage.js';
import type { ModelVersionInfo } from '../../spec/registry.js';

/** A `ModelVersion` as the REST API returns it. Empty fields are left out of MLflow's JSON. */
export interface MlflowModelVersion {
  readonly name: string;
  /** A string in MLflow's JSON (`"3"`). */
  readonly version: string;
  readonly creation_timestamp?: number | string;
  readonly last_updated_timestamp?: number | string;
  readonly user_id?: string;
  readonly current_stage?: string;
  readonly description?: string;
  readonly source?: string;
  readonly run_id?: string;
  readonly status?: string;
  readonly tags?: readonly { readonly key: string; readonly value?: string }[];
  readonly aliases?: readonly string[];
}

/** Tags modelship writes on versions it publishes. */
export const TAG_SHA256 = 'modelship.sha256';
/** The file size in bytes, as a decimal string. */
export const TAG_SIZE = 'modelship.size';
/** The user's metadata, as JSON. */
export const TAG_METADATA = 'modelship.metadata';
/** The lineage as JSON; when longer than one tag value, split over `modelship.lineage.0`, `.1`, … instead. */
export const TAG_LINEAGE = 'modelship.lineage';

/** MLflow's limit on a model version tag value (MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH), in characters (code points). */
export const TAG_VALUE_LIMIT = 5000;
const MAX_LINEAGE_PARTS = 100;

/** The tags holding `lineage`, or undefined when even 100 tag values cannot hold it. */
export function lineageTags(lineage: ModelLineage): { key: string; value: string }[] | undefined {
  const chars = [...JSON.stringify(lineage)];
  if (chars.length <= TAG_VALUE_LIMIT) return [{ key: TAG_LINEAGE, value: chars.join('') }];
  const parts: { key: string; value: string }[] = [];
  for (let i = 0; i * TAG_VALUE_LIMIT < chars.length; i++)
    parts.push({
      key: `${TAG_LINEAGE}.${i}`,
      value: chars.slice(i * TAG_VALUE_LIMIT, (i + 1) * TAG_VALUE_LIMIT).join(''),
    });
  return parts.length > MAX_LINEAGE_PARTS ? undefined : parts;
}

function readLineage(tags: Readonly<Record<string, string>>): ModelLineage | undefined {
  let json = tags[TAG_LINEAGE];
  if (json === undefined) {
    const parts: string[] = [];
    for (let i = 0; i < MAX_LINEAGE_PARTS && tags[`${TAG_LINEAGE}.${i}`] !== undefined; i++)
      parts.push(tags[`${TAG_LINEAGE}.${i}`] as string);
    if (parts.length === 0) return undefined;
    json = parts.join('');
  }
  try {
    const value = JSON.parse(json) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as ModelLineage) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A model version as modelship reports it. sha256 and size come from the tags modelship sets when publishing
 * (MLflow itself records no digest); metadata is what was published, plus MLflow's own fields under `mlflow`.
 */
export function toInfo(mv: MlflowModelVersion): ModelVersionInfo {
  const tags: Record<string, string> = Object.fromEntries((mv.tags ?? []).map((t) => [t.key, t.value ?? '']));
  let published: Record<string, unknown> = {};
  try {
    const raw = tags[TAG_METADATA];
    if (raw !== undefined) published = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    published = {};
  }
  const sha256 = /^[0-9a-f]{64}$/.test(tags[TAG_SHA256] ?? '') ? tags[TAG_SHA256] : undefined;
  const size = /^\d+$/.test(tags[TAG_SIZE] ?? '') ? Number(tags[TAG_SIZE]) : undefined;
  const lineage = readLineage(tags);
  const userTags = Object.fromEntries(Object.entries(tags).filter(([k]) => !k.startsWith('modelship.')));
  const created = mv.creation_timestamp === undefined ? undefined : new Date(Number(mv.creation_timestamp));
  return {
    name: mv.name,
    version: String(mv.version),
    ...(sha256 === undefined ? {} : { sha256 }),
    ...(size === undefined ? {} : { size }),
    aliases: [...(mv.aliases ?? [])].sort(),
    ...(created === undefined || Number.isNaN(created.getTime()) ? {} : { createdAt: created.toISOString() }),
    ...(lineage === undefined ? {} : { lineage }),
    metadata: {
      ...published,
      mlflow: {
        ...(mv.run_id ? { runId: mv.run_id } : {}),
        ...(mv.source
          ? { source: mv.source.includes('://') && !mv.source.startsWith('runs:') ? redactUrl(mv.source) : mv.source }
          : {}),
        ...(mv.status ? { status: mv.status } : {}),
        ...(mv.current_stage ? { stage: mv.current_stage } : {}),
        ...(mv.description ? { description: mv.description } : {}),
        ...(mv.user_id ? { userId: mv.user_id } : {}),
        tags: userTags,
      },
    },
  };
}
