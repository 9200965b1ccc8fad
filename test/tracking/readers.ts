/** Readers turning what each backend stored into the contract suite's neutral StoredRunView. */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { parse } from 'yaml';
import type { RemoteRunRef } from '../../src/spec/tracking.js';
import type { StoredRunView } from '../contract/tracker.js';
import type { MlflowTrackingState } from '../servers/mlflow-tracking/state.js';
import type { WandbState } from '../servers/wandb/handler.js';

function group(points: { key: string; step: number; value: number }[]): StoredRunView['metrics'] {
  const out: StoredRunView['metrics'] = {};
  for (const p of points) (out[p.key] ??= []).push({ step: p.step, value: p.value });
  return out;
}

export function readMlflowRun(state: MlflowTrackingState, ref: RemoteRunRef): StoredRunView {
  const run = state.runs.get(ref.runId as string);
  if (run === undefined) throw new Error(`no run ${ref.runId} on the MLflow test server`);
  const prefix = `${run.experimentId}/${run.runId}/artifacts/`;
  return {
    name: run.runName,
    experiment: state.experiments.get(run.experimentId)?.name ?? '?',
    status: run.status as StoredRunView['status'],
    params: Object.fromEntries(run.params),
    tags: Object.fromEntries(run.tags),
    metrics: group(run.metrics),
    artifacts: Object.fromEntries(
      [...state.artifacts].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]),
    ),
  };
}

export function readWandbRun(state: WandbState, ref: RemoteRunRef): StoredRunView {
  const run = [...state.runs.values()].find((r) => r.name === ref.runId);
  if (run === undefined) throw new Error(`no run ${ref.runId} on the W&B test server`);
  const points = run.history.flatMap((row) =>
    Object.entries(row)
      .filter(([k]) => !k.startsWith('_'))
      .map(([key, value]) => ({ key, step: row._step as number, value: value as number })),
  );
  const status =
    run.state === 'running' ? 'RUNNING' : run.exitcode === 0 ? 'FINISHED' : run.exitcode === 130 ? 'KILLED' : 'FAILED';
  return {
    name: run.displayName ?? run.name,
    experiment: run.group ?? '?',
    status,
    params: Object.fromEntries(Object.entries(run.config).map(([k, v]) => [k, String(v.value)])),
    tags: Object.fromEntries(
      run.tags.map((t) => (t.includes(':') ? [t.slice(0, t.indexOf(':')), t.slice(t.indexOf(':') + 1)] : [t, ''])),
    ),
    metrics: group(points),
    artifacts: Object.fromEntries(run.files),
  };
}

async function readTree(dir: string): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out[relative(dir, p).split(sep).join('/')] = await readFile(p);
    }
  };
  await walk(dir);
  return out;
}

const STATUS: Record<number, StoredRunView['status']> = { 1: 'RUNNING', 3: 'FINISHED', 4: 'FAILED', 5: 'KILLED' };

/** Reads a run from an mlruns directory the way MLflow's FileStore does. */
export async function readLocalRun(root: string, ref: RemoteRunRef): Promise<StoredRunView> {
  const dir = join(root, ref.experimentId as string, ref.runId as string);
  const meta = parse(await readFile(join(dir, 'meta.yaml'), 'utf8')) as Record<string, unknown>;
  const experiment = parse(await readFile(join(root, ref.experimentId as string, 'meta.yaml'), 'utf8')) as Record<
    string,
    unknown
  >;
  const text = (files: Record<string, Buffer>): Record<string, string> =>
    Object.fromEntries(Object.entries(files).map(([k, v]) => [k, v.toString('utf8')]));
  const metrics: StoredRunView['metrics'] = {};
  for (const [key, content] of Object.entries(await readTree(join(dir, 'metrics')))) {
    metrics[key] = content
      .toString('utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const [, value, step] = line.split(' ');
        const v =
          value === 'nan'
            ? Number.NaN
            : value === 'inf'
              ? Number.POSITIVE_INFINITY
              : value === '-inf'
                ? Number.NEGATIVE_INFINITY
                : Number(value);
        return { step: Number(step), value: v };
      });
  }
  return {
    name: meta.run_name as string,
    experiment: experiment.name as string,
    status: STATUS[meta.status as number] ?? 'RUNNING',
    params: text(await readTree(join(dir, 'params'))),
    tags: text(await readTree(join(dir, 'tags'))),
    metrics,
    artifacts: await readTree(join(dir, 'artifacts')),
  };
}
