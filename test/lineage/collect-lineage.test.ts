import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/runtime/node.js';
import { createLocalRegistry } from '../../src/registries/local/index.js';
import type { Model } from '../../src/serving/model.js';
import { collectLineage, createLocalTracker } from '../../src/tracking/index.js';
import { addOneModel, tempDir, tempFile } from '../helpers/models.js';

const sha = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');
const OID = 'f'.repeat(64);
const POINTER = `version https://git-lfs.github.com/spec/v1\noid sha256:${OID}\nsize 4096\n`;
const MD5 = '0123456789abcdef0123456789abcdef';

let repo: string;
const git = (...args: string[]): string => execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
const models: Model[] = [];

beforeEach(async () => {
  repo = await tempDir('modelship-repo-');
  await mkdir(join(repo, 'data', 'images'), { recursive: true });
  await writeFile(join(repo, '.gitattributes'), '*.bin filter=lfs diff=lfs merge=lfs -text\n');
  await writeFile(join(repo, 'data', 'train.csv'), 'x,y\n1,2\n');
  await writeFile(join(repo, 'data', 'images', 'a.png'), 'A');
  await writeFile(join(repo, 'data', 'images', 'b.png'), 'B');
  await writeFile(join(repo, 'data', 'weights.bin'), 'fetched LFS content');
  await writeFile(join(repo, 'data', 'pointer.bin'), POINTER);
  await writeFile(
    join(repo, 'data', 'raw.csv.dvc'),
    `outs:\n- md5: ${MD5}\n  size: 77\n  hash: md5\n  path: raw.csv\n`,
  );
  await writeFile(
    join(repo, 'dvc.lock'),
    `schema: '2.0'\nstages:\n  train:\n    cmd: node train.js\n    outs:\n    - path: models/mnist.onnx\n      md5: ${MD5.replace('0', 'a')}\n      size: 31\n`,
  );
  git('init', '-q', '-b', 'main');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'add', '.');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'data');
});

afterEach(async () => {
  await Promise.all(models.splice(0).map((m) => m.close()));
});

describe('collectLineage', () => {
  it('records the commit, the dirty flag, data digests, DVC outs and Git LFS objects', async () => {
    const lineage = await collectLineage({
      cwd: repo,
      datasets: ['data/train.csv', 'data/images', 'data/weights.bin', 'data/pointer.bin'],
    });
    expect(lineage.git).toEqual({ commit: git('rev-parse', 'HEAD'), dirty: false, branch: 'main' });
    expect(lineage.datasets).toEqual([
      { path: 'data/train.csv', sha256: sha('x,y\n1,2\n'), size: 8 },
      { path: 'data/images', sha256: sha(`a.png\t${sha('A')}\nb.png\t${sha('B')}\n`), size: 2, files: 2 },
      { path: 'data/weights.bin', sha256: sha('fetched LFS content'), size: 19 },
      { path: 'data/pointer.bin', size: 4096 },
    ]);
    expect(lineage.lfs).toEqual([
      { path: 'data/pointer.bin', oid: `sha256:${OID}`, size: 4096 },
      { path: 'data/weights.bin', oid: `sha256:${sha('fetched LFS content')}`, size: 19 },
    ]);
    expect(lineage.dvc).toEqual([
      { path: 'models/mnist.onnx', md5: MD5.replace('0', 'a'), size: 31, source: 'dvc.lock:train' },
    ]);

    await writeFile(join(repo, 'data', 'train.csv'), 'changed\n');
    const dirty = await collectLineage({ cwd: repo, dvc: ['data/raw.csv.dvc'] });
    expect(dirty.git?.dirty).toBe(true);
    expect(dirty.dvc).toEqual([{ path: 'data/raw.csv', md5: MD5, size: 77, source: 'data/raw.csv.dvc' }]);
  });

  it('records the training run from a run handle, and leaves git out outside a repository', async () => {
    const tracker = createLocalTracker({ root: join(await tempDir(), 'mlruns') });
    const run = await tracker.startRun({ experiment: 'lineage' });
    const lineage = await collectLineage({ cwd: await tempDir(), run });
    expect(lineage).toEqual({
      run: {
        runId: run.id,
        runKey: run.id,
        trackingUri: tracker.trackingUri,
        experimentId: (await run.remote()).experimentId,
      },
    });
    await tracker.close();
    await expect(collectLineage({ cwd: repo, datasets: ['nope.csv'] })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});

describe('lineage in the registry and on loaded models', () => {
  it('is recorded by publish, returned by resolve and exposed as model.lineage', async () => {
    const registry = createLocalRegistry({ root: join(await tempDir(), 'models') });
    const lineage = await collectLineage({
      cwd: repo,
      datasets: ['data/train.csv'],
      run: { runId: 'r1', trackingUri: 'http://mlflow:5000', experimentId: '3' },
    });
    const published = await registry.publish({ name: 'addone', bytes: addOneModel(), aliases: ['candidate'], lineage });
    expect(published.lineage).toEqual(lineage);
    expect((await registry.resolve('addone@candidate')).lineage).toEqual(lineage);
    const model = await loadModel('addone@candidate', { registry, warmup: false });
    models.push(model);
    expect(model.lineage).toEqual(lineage);
    const plain = await loadModel(addOneModel(), { warmup: false });
    models.push(plain);
    expect(plain.lineage).toBeUndefined();
    await expect(
      registry.publish({ name: 'addone', bytes: addOneModel(), lineage: { git: { commit: 'main', dirty: false } } }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});

describe('UNRESOLVED_POINTER', () => {
  it('fails loadModel on a Git LFS pointer with how to fetch it, instead of an ONNX parse error', async () => {
    const path = await tempFile(new TextEncoder().encode(POINTER));
    await expect(loadModel(path)).rejects.toMatchObject({
      code: 'UNRESOLVED_POINTER',
      message: expect.stringMatching(/Git LFS pointer.*git lfs pull/),
      details: { oid: `sha256:${OID}` },
    });
  });

  it('fails on a registry version whose model.onnx is still a pointer', async () => {
    const registry = createLocalRegistry({ root: join(await tempDir(), 'models') });
    await registry.publish({ name: 'addone', bytes: addOneModel() });
    await writeFile(join(registry.root, 'addone', '1', 'model.onnx'), POINTER);
    await expect(loadModel('addone', { registry })).rejects.toMatchObject({ code: 'UNRESOLVED_POINTER' });
  });

  it('fails on a DVC placeholder, and on a missing file that DVC tracks, saying to run dvc pull', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'model.onnx'), `outs:\n- md5: ${MD5}\n  path: model.onnx\n`);
    await expect(loadModel(join(dir, 'model.onnx'))).rejects.toMatchObject({
      code: 'UNRESOLVED_POINTER',
      message: expect.stringMatching(/DVC.*dvc pull/),
    });
    await writeFile(join(dir, 'other.onnx.dvc'), `outs:\n- md5: ${MD5}\n  path: other.onnx\n`);
    await expect(loadModel(join(dir, 'other.onnx'))).rejects.toMatchObject({
      code: 'UNRESOLVED_POINTER',
      details: { md5: MD5 },
    });
  });
});
