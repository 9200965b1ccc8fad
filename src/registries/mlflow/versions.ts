import { redactUrl } from '../../core/redact.js';
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
export const TAG_SIZE = 'modelship.size';
export const TAG_METADATA = 'modelship.metadata';

/**
 * A model version as modelship reports it. sha256 and size come from the tags modelship sets when publishing
 * (MLflow itself records no digest); metadata is what was published, plus MLflow's own fields under `mlflow`.
 */
export function toInfo(mv: MlflowModelVersion): ModelVersionInfo {
  const tags = Object.fromEntries((mv.tags ?? []).map((t) => [t.key, t.value ?? '']));
  let published: Record<string, unknown> = {};
  try {
    const raw = tags[TAG_METADATA];
    if (raw !== undefined) published = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    published = {};
  }
  const sha256 = /^[0-9a-f]{64}$/.test(tags[TAG_SHA256] ?? '') ? tags[TAG_SHA256] : undefined;
  const size = /^\d+$/.test(tags[TAG_SIZE] ?? '') ? Number(tags[TAG_SIZE]) : undefined;
  const userTags = Object.fromEntries(Object.entries(tags).filter(([k]) => !k.startsWith('modelship.')));
  const created = mv.creation_timestamp === undefined ? undefined : new Date(Number(mv.creation_timestamp));
  return {
    name: mv.name,
    version: String(mv.version),
    ...(sha256 === undefined ? {} : { sha256 }),
    ...(size === undefined ? {} : { size }),
    aliases: [...(mv.aliases ?? [])].sort(),
    ...(created === undefined || Number.isNaN(created.getTime()) ? {} : { createdAt: created.toISOString() }),
    metadata: {
      ...published,
      mlflow: {
        ...(mv.run_id ? { runId: mv.run_id } : {}),
        ...(mv.source ? { source: mv.source.includes('://') && !mv.source.startsWith('runs:') ? redactUrl(mv.source) : mv.source } : {}),
        ...(mv.status ? { status: mv.status } : {}),
        ...(mv.current_stage ? { stage: mv.current_stage } : {}),
        ...(mv.description ? { description: mv.description } : {}),
        ...(mv.user_id ? { userId: mv.user_id } : {}),
        tags: userTags,
      },
    },
  };
}
