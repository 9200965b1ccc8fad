import type { ModelVersionInfo } from '../../spec/registry.js';
import type { ModelContainerJson, ModelVersionJson } from './azureml-api.js';
import { lineageOf } from './azureml-baseline.js';

/** Version `properties` (immutable once registered) holding the file's digest and size. */
export const SHA256_PROPERTY = 'modelship.sha256';
export const SIZE_PROPERTY = 'modelship.size';
/** Model (container) tags `modelship.alias.<alias>` = `<version>`: the alias convention (one tag write moves it). */
export const ALIAS_TAG = 'modelship.alias.';

/** Tags are strings: metadata values that are not strings are stored as JSON and read back as such. */
export function encodeTag(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function decodeTag(value: string): unknown {
  if (/^(-?\d|true$|false$|null$|\{|\[)/.test(value)) {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }
  return value;
}

/** The aliases a model's tags point at `version`, sorted. */
export function aliasesOf(container: ModelContainerJson | undefined, version: string): string[] {
  return Object.entries(container?.properties.tags ?? {})
    .filter(([k, v]) => k.startsWith(ALIAS_TAG) && v === version)
    .map(([k]) => k.slice(ALIAS_TAG.length))
    .sort();
}

/** Compares Azure ML versions: numbers numerically, others after them by text. */
export function compareVersions(a: string, b: string): number {
  const na = /^\d+$/.test(a);
  const nb = /^\d+$/.test(b);
  if (na && nb) return Number(a) - Number(b) || a.localeCompare(b);
  if (na !== nb) return na ? -1 : 1;
  return a.localeCompare(b);
}

/** A version resource as modelship's version summary: tags are metadata, properties hold the digest. */
export function toVersionInfo(
  model: string,
  v: ModelVersionJson,
  container: ModelContainerJson | undefined,
): ModelVersionInfo {
  const props = v.properties.properties ?? {};
  const sha256 = props[SHA256_PROPERTY];
  const size = Number(props[SIZE_PROPERTY]);
  const metadata: Record<string, unknown> = {};
  for (const [k, value] of Object.entries(v.properties.tags ?? {})) metadata[k] = decodeTag(value);
  if (v.properties.modelType) metadata.modelType = v.properties.modelType;
  if (v.properties.description) metadata.description = v.properties.description;
  if (v.properties.stage) metadata.stage = v.properties.stage;
  const lineage = lineageOf(props);
  return {
    name: model,
    version: v.name,
    ...(sha256 !== undefined && /^[0-9a-f]{64}$/.test(sha256) ? { sha256 } : {}),
    ...(Number.isSafeInteger(size) && size >= 0 && props[SIZE_PROPERTY] !== undefined ? { size } : {}),
    aliases: aliasesOf(container, v.name),
    ...(v.systemData?.createdAt ? { createdAt: v.systemData.createdAt } : {}),
    metadata,
    ...(lineage === undefined ? {} : { lineage }),
  };
}
