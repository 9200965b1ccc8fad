/**
 * The MLmodel section of `modelship inspect` for MLflow references: the version's run id and its MLmodel file
 * (flavors, signature, model uuid, creation time), read through MLflow's documented REST API
 * (`model-versions/get`, then the artifact proxy `mlflow-artifacts/artifacts/<path>/MLmodel`). Sources other
 * than `mlflow-artifacts:` (a run's `runs:/`, a bucket) give the run id and source only.
 */
import { parse } from 'yaml';

/** What `inspect` shows of an MLflow model version. */
export interface MlmodelSection {
  readonly runId?: string;
  readonly source?: string;
  readonly modelUuid?: string;
  readonly createdAt?: string;
  readonly flavors?: Record<string, unknown>;
  readonly signature?: { inputs?: unknown; outputs?: unknown; params?: unknown };
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
/** MLflow stores signature parts as JSON strings inside the YAML. */
const json = (v: unknown): unknown => {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
};

/** Reads the MLmodel section of `name`/`version` from the tracking server, or undefined when it cannot. */
export async function readMlmodelSection(
  trackingUri: string,
  name: string,
  version: string,
  token: string | undefined,
): Promise<MlmodelSection | undefined> {
  const base = trackingUri.replace(/\/+$/, '');
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const res = await fetch(
    `${base}/api/2.0/mlflow/model-versions/get?${new URLSearchParams({ name, version }).toString()}`,
    { headers },
  );
  if (!res.ok) return undefined;
  const mv = ((await res.json()) as { model_version?: Record<string, unknown> }).model_version ?? {};
  const source = text(mv.source);
  const section: Record<string, unknown> = { runId: text(mv.run_id), source };
  const path = source?.startsWith('mlflow-artifacts:/') ? source.slice('mlflow-artifacts:/'.length) : undefined;
  if (path !== undefined) {
    const file = await fetch(
      `${base}/api/2.0/mlflow-artifacts/artifacts/${path.replace(/^\/+/, '').replace(/\/+$/, '')}/MLmodel`,
      { headers },
    );
    if (file.ok) {
      const doc = parse(await file.text()) as Record<string, unknown> | null;
      if (doc !== null && typeof doc === 'object') {
        section.modelUuid = text(doc.model_uuid);
        section.createdAt = text(doc.utc_time_created);
        section.runId ??= text(doc.run_id);
        if (doc.flavors && typeof doc.flavors === 'object') section.flavors = doc.flavors;
        const sig = doc.signature as Record<string, unknown> | undefined;
        if (sig && typeof sig === 'object')
          section.signature = Object.fromEntries(Object.entries(sig).map(([k, v]) => [k, json(v)]));
      }
    }
  }
  return Object.fromEntries(Object.entries(section).filter(([, v]) => v !== undefined)) as MlmodelSection;
}
