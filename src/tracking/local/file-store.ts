import { createHash, randomBytes } from 'node:crypto';
import { appendFile, copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse, stringify } from 'yaml';
import { hasErrnoCode, writeFileAtomic } from '../../platform/node/fs-atomic.js';
import type { RunEndStatus } from '../../spec/tracking.js';

/** MLflow's file store keeps run status as its RunStatus enum number. */
const STATUS = { RUNNING: 1, FINISHED: 3, FAILED: 4, KILLED: 5 } as const;
const META = 'meta.yaml';
const RESERVED = new Set(['.trash', 'models', '.modelship']);

/** MLflow writes YAML with sorted keys (PyYAML's safe_dump); the UI does not care, diffs do. */
function yamlOf(record: Record<string, unknown>): string {
  return stringify(Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1))));
}

async function readMeta(dir: string): Promise<Record<string, unknown> | undefined> {
  try {
    return parse(await readFile(join(dir, META), 'utf8')) as Record<string, unknown>;
  } catch (error) {
    if (hasErrnoCode(error, 'ENOENT', 'ENOTDIR')) return undefined;
    throw error;
  }
}

/** The metric value as Python's float() reads it back (`nan`, `inf`, `-inf` for the non-finite ones). */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  return String(value);
}

/** What a run directory is created with. */
export interface NewRun {
  readonly experimentId: string;
  readonly runId: string;
  readonly name: string;
  readonly user: string;
  readonly startTime: number;
}

/**
 * MLflow's file store (`mlruns/`), written the way MLflow's own FileStore writes it so that `mlflow ui
 * --backend-store-uri ./mlruns` shows the runs:
 *
 * ```
 * mlruns/<experiment_id>/meta.yaml
 * mlruns/<experiment_id>/<run_id>/meta.yaml
 * mlruns/<experiment_id>/<run_id>/params/<key>      the value
 * mlruns/<experiment_id>/<run_id>/metrics/<key>     "<timestamp> <value> <step>" per line
 * mlruns/<experiment_id>/<run_id>/tags/<key>        the value
 * mlruns/<experiment_id>/<run_id>/artifacts/…
 * ```
 *
 * Safe for concurrent writers: each run has its own directory, and an experiment's id is derived from its
 * name, so two processes creating the same experiment at once end up in the same directory.
 */
export function createFileStore(root: string) {
  const experimentDir = (id: string): string => join(root, id);
  const runDir = (experimentId: string, runId: string): string => join(root, experimentId, runId);

  async function writeExperiment(id: string, name: string): Promise<void> {
    const now = Date.now();
    await writeFileAtomic(
      join(experimentDir(id), META),
      yamlOf({
        artifact_location: pathToFileURL(experimentDir(id)).href,
        creation_time: now,
        experiment_id: id,
        last_update_time: now,
        lifecycle_stage: 'active',
        name,
      }),
    );
  }

  /** Creates the root like MLflow does the first time: the `Default` experiment 0 and `.trash`. */
  async function init(): Promise<void> {
    await mkdir(root, { recursive: true });
    await mkdir(join(root, '.trash'), { recursive: true });
    try {
      await mkdir(experimentDir('0'));
      await writeExperiment('0', 'Default');
    } catch (error) {
      if (!hasErrnoCode(error, 'EEXIST')) throw error;
    }
  }

  async function findExperiment(name: string): Promise<string | undefined> {
    const entries = await readdir(root, { withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isDirectory() || RESERVED.has(entry.name)) continue;
      const meta = await readMeta(experimentDir(entry.name)).catch(() => undefined);
      if (meta?.name === name && meta.lifecycle_stage !== 'deleted') return String(meta.experiment_id ?? entry.name);
    }
    return undefined;
  }

  /** The id of experiment `name`, creating it when absent. */
  async function ensureExperiment(name: string): Promise<string> {
    const found = await findExperiment(name);
    if (found !== undefined) return found;
    // Same name → same id, so concurrent creators agree; a clash with another name falls back to random ids.
    const derived = BigInt(`0x${createHash('sha256').update(name).digest('hex').slice(0, 15)}`).toString();
    for (let attempt = 0; attempt < 100; attempt++) {
      const id = attempt === 0 ? derived : BigInt(`0x${randomBytes(7).toString('hex')}`).toString();
      try {
        await mkdir(experimentDir(id));
        await writeExperiment(id, name);
        return id;
      } catch (error) {
        if (!hasErrnoCode(error, 'EEXIST')) throw error;
        const meta = await readMeta(experimentDir(id));
        if (meta === undefined) {
          // Its creator is between mkdir and writing meta.yaml; writing the same content is harmless.
          await writeExperiment(id, name);
          return id;
        }
        if (meta.name === name) return id;
      }
    }
    throw new Error(`could not allocate an experiment id for ${JSON.stringify(name)} in ${root}`);
  }

  function runMeta(run: NewRun, status: number, endTime: number | null): string {
    return yamlOf({
      artifact_uri: pathToFileURL(join(runDir(run.experimentId, run.runId), 'artifacts')).href,
      deleted_time: null,
      end_time: endTime,
      entry_point_name: '',
      experiment_id: run.experimentId,
      lifecycle_stage: 'active',
      run_id: run.runId,
      run_name: run.name,
      run_uuid: run.runId,
      source_name: '',
      source_type: 4,
      source_version: '',
      start_time: run.startTime,
      status,
      tags: [],
      user_id: run.user,
    });
  }

  async function writeKeyFile(run: NewRun, folder: 'params' | 'tags', key: string, value: string): Promise<void> {
    const file = join(runDir(run.experimentId, run.runId), folder, ...key.split('/'));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, value);
  }

  return {
    root,
    init,
    ensureExperiment,
    runDir,
    async createRun(run: NewRun, tags: Record<string, string>): Promise<void> {
      const dir = runDir(run.experimentId, run.runId);
      // Recursive: a run replayed from the spool after a crash may have been partly created already.
      for (const sub of ['metrics', 'params', 'tags', 'artifacts']) await mkdir(join(dir, sub), { recursive: true });
      for (const [key, value] of Object.entries(tags)) await writeKeyFile(run, 'tags', key, value);
      // meta.yaml last: MLflow lists a run once its meta.yaml exists.
      await writeFileAtomic(join(dir, META), runMeta(run, STATUS.RUNNING, null));
    },
    async endRun(run: NewRun, status: RunEndStatus, endTime: number): Promise<void> {
      await writeFileAtomic(join(runDir(run.experimentId, run.runId), META), runMeta(run, STATUS[status], endTime));
    },
    writeParam: (run: NewRun, key: string, value: string) => writeKeyFile(run, 'params', key, value),
    writeTag: (run: NewRun, key: string, value: string) => writeKeyFile(run, 'tags', key, value),
    /** Appends points to metrics/<key>, one `timestamp value step` line each. */
    async appendMetric(
      run: NewRun,
      key: string,
      points: readonly { time: number; value: number; step: number }[],
    ): Promise<void> {
      const file = join(runDir(run.experimentId, run.runId), 'metrics', ...key.split('/'));
      await mkdir(dirname(file), { recursive: true });
      await appendFile(file, points.map((p) => `${p.time} ${formatValue(p.value)} ${p.step}\n`).join(''));
    },
    async writeArtifact(run: NewRun, artifactPath: string, source: string | Uint8Array): Promise<void> {
      const file = join(runDir(run.experimentId, run.runId), 'artifacts', ...artifactPath.split('/'));
      await mkdir(dirname(file), { recursive: true });
      if (typeof source === 'string') await copyFile(source, file);
      else await writeFile(file, source);
    },
  };
}

/** The file store of one `mlruns` directory. */
export type FileStore = ReturnType<typeof createFileStore>;
