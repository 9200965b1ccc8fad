import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ModelshipError } from '../../src/errors/index.js';
import { createLocalTracker, createTracker, type LocalTracker } from '../../src/tracking/index.js';
import { testTracker } from '../contract/tracker.js';
import { tempDir } from '../helpers/models.js';
import { readLocalRun } from './readers.js';

const trackers: LocalTracker[] = [];
afterEach(async () => {
  await Promise.all(trackers.splice(0).map((t) => t.close()));
});

async function local(root?: string): Promise<LocalTracker> {
  const t = createLocalTracker({ root: root ?? join(await tempDir(), 'mlruns') });
  trackers.push(t);
  return t;
}

testTracker('local', async () => {
  const root = join(await tempDir(), 'mlruns');
  const errors: ModelshipError[] = [];
  return {
    tracker: createLocalTracker({ root, onError: (e) => errors.push(e) }),
    errors,
    read: (ref) => readLocalRun(root, ref),
    requestCount: () => 0,
  };
});

describe('local tracker (MLflow file store)', () => {
  it('writes the layout MLflow reads: meta.yaml per experiment and run, one file per param, tag and metric', async () => {
    const t = await local();
    const run = await t.startRun({ experiment: 'mnist', name: 'baseline' });
    run.logParams({ lr: 0.1 });
    run.logMetrics({ loss: 0.5, 'eval/acc': 0.9 }, { step: 3, timestamp: 1_700_000_000_123 });
    run.logMetrics({ loss: Number.NaN }, { step: 4, timestamp: 1_700_000_000_456 });
    await run.end('FINISHED');
    await t.flush();
    const { experimentId, runId, trackingUri } = await run.remote();
    expect(trackingUri).toBe(pathToFileURL(t.root).href);
    expect((await readdir(t.root)).sort()).toEqual(['.trash', '0', experimentId as string].sort());
    const defaultExp = parse(await readFile(join(t.root, '0', 'meta.yaml'), 'utf8'));
    expect(defaultExp).toMatchObject({ experiment_id: '0', name: 'Default', lifecycle_stage: 'active' });
    const exp = parse(await readFile(join(t.root, experimentId as string, 'meta.yaml'), 'utf8'));
    expect(exp).toMatchObject({
      experiment_id: experimentId,
      name: 'mnist',
      lifecycle_stage: 'active',
      artifact_location: pathToFileURL(join(t.root, experimentId as string)).href,
    });
    const dir = join(t.root, experimentId as string, runId as string);
    const meta = parse(await readFile(join(dir, 'meta.yaml'), 'utf8'));
    expect(meta).toMatchObject({
      run_id: runId,
      run_uuid: runId,
      run_name: 'baseline',
      experiment_id: experimentId,
      status: 3,
      lifecycle_stage: 'active',
      source_type: 4,
      tags: [],
    });
    expect(meta.end_time).toEqual(expect.any(Number));
    expect(await readFile(join(dir, 'metrics', 'loss'), 'utf8')).toBe('1700000000123 0.5 3\n1700000000456 nan 4\n');
    expect(await readFile(join(dir, 'metrics', 'eval', 'acc'), 'utf8')).toBe('1700000000123 0.9 3\n');
    expect(await readFile(join(dir, 'params', 'lr'), 'utf8')).toBe('0.1');
    expect(await readFile(join(dir, 'tags', 'mlflow.runName'), 'utf8')).toBe('baseline');
    expect((await readdir(dir)).sort()).toEqual(['artifacts', 'meta.yaml', 'metrics', 'params', 'tags']);
  });

  it('lets concurrent trackers on one directory share an experiment and keep their runs apart', async () => {
    const root = join(await tempDir(), 'mlruns');
    const [a, b, c] = [await local(root), await local(root), await local(root)];
    const runs = await Promise.all([a, b, c, a].map((t, i) => t.startRun({ experiment: 'shared', name: `r${i}` })));
    runs.forEach((run, i) => run.logMetrics({ i }, { step: 0 }));
    await Promise.all(runs.map((r) => r.end()));
    await Promise.all([a, b, c].map((t) => t.flush()));
    const refs = await Promise.all(runs.map((r) => r.remote()));
    expect(new Set(refs.map((r) => r.experimentId)).size).toBe(1);
    expect(new Set(refs.map((r) => r.runId)).size).toBe(4);
    const experiments = (await readdir(root)).filter((d) => !d.startsWith('.') && d !== '0');
    expect(experiments).toEqual([refs[0]?.experimentId]);
    for (const [i, ref] of refs.entries())
      expect((await readLocalRun(root, ref)).metrics.i).toEqual([{ step: 0, value: i }]);
  });

  it('finds an experiment created by MLflow itself (any id) by name', async () => {
    const root = join(await tempDir(), 'mlruns');
    const t = await local(root);
    await (await t.startRun({ experiment: 'bootstrap' })).end();
    await t.flush();
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(join(root, '123456789'));
    await writeFile(
      join(root, '123456789', 'meta.yaml'),
      "artifact_location: file:///x/123456789\nexperiment_id: '123456789'\nlifecycle_stage: active\nname: from python\n",
    );
    const run = await t.startRun({ experiment: 'from python' });
    expect((await run.remote()).experimentId).toBe('123456789');
  });

  it('copies artifacts from files, and refuses a missing file', async () => {
    const t = await local();
    const run = await t.startRun({ experiment: 'artifacts' });
    const file = join(await tempDir(), 'model.onnx');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, 'onnx bytes');
    await run.logArtifact(file, 'model/model.onnx');
    await expect(run.logArtifact(join(file, 'missing'), 'x')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    // logArtifact resolves once the copy is in the spool; flush() once it is in the run directory.
    await t.flush();
    const { runId, experimentId } = await run.remote();
    expect(
      await readFile(join(t.root, experimentId as string, runId as string, 'artifacts', 'model', 'model.onnx'), 'utf8'),
    ).toBe('onnx bytes');
  });

  it('createTracker() is local unless MLFLOW_TRACKING_URI points at a server', async () => {
    const root = join(await tempDir(), 'mlruns');
    const local = createTracker({}, { MLFLOW_TRACKING_URI: pathToFileURL(root).href });
    expect(local.kind).toBe('local');
    expect(local.trackingUri).toBe(pathToFileURL(root).href);
    const remote = createTracker(
      { mlflow: { spoolDir: await tempDir() } },
      { MLFLOW_TRACKING_URI: 'http://127.0.0.1:1' },
    );
    expect(remote.kind).toBe('mlflow');
    await Promise.all([local.close(), remote.close({ timeoutMs: 10 })]);
  });
});
