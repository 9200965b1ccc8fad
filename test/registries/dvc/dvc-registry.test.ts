import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, silentLogger } from 'modelship';
import { ModelshipError } from '../../../src/errors/index.js';
import { createDvcRegistry, type DvcRegistry } from '../../../src/registries/dvc/index.js';
import type { ModelArtifact } from '../../../src/spec/registry.js';
import { digits } from '../../helpers/deployments.js';
import { tempDir, tinyMnist } from '../../helpers/models.js';
import { startGitHttpServer, type GitHttpServer } from '../../servers/git/git-http-server.js';
import { createDvcOrigin, git, writeFiles } from './repo.js';

const fast = { retries: 2, retryDelayMs: 1, maxRetryDelayMs: 2, timeoutMs: 10_000 };
const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(ModelshipError.isInstance(error), String(error)).toBe(true);
    return (error as ModelshipError).code;
  }
  return 'resolved';
}

async function read(artifact: ModelArtifact): Promise<Uint8Array> {
  if (artifact.kind === 'bytes') return artifact.bytes;
  try {
    return new Uint8Array(await readFile(artifact.path));
  } finally {
    artifact.release?.();
  }
}

let root: string;
let store: string;
let origin: { bare: string; work: string };
let server: GitHttpServer;
let n = 0;
const open = (extra: Record<string, unknown> = {}): DvcRegistry =>
  createDvcRegistry({ repo: origin.bare, cacheDir: join(root, `cache-${++n}`), ...fast, ...extra });

beforeAll(async () => {
  root = await tempDir();
  store = join(root, 'dvc-store');
  origin = await createDvcOrigin(root, 'models', store);
  server = await startGitHttpServer({ root });
});
afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

describe('DVC registry: a repository written by DVC and GTO', () => {
  const v1 = tinyMnist().onnx;
  const v2 = new Uint8Array([...tinyMnist().onnx]);
  beforeAll(async () => {
    const { work } = origin;
    // v1.0.0 as DVC 2.x left it: no `hash` field, the object at <md5[:2]>/<md5[2:]> on the remote.
    const h1 = md5(v1);
    await writeFiles(store, { [`${h1.slice(0, 2)}/${h1.slice(2)}`]: v1 });
    await writeFiles(work, {
      'models/mnist.onnx.dvc': `outs:\n- md5: ${h1}\n  size: ${v1.byteLength}\n  path: mnist.onnx\n`,
      'models/.gitignore': '/mnist.onnx\n',
      'dvc.yaml':
        'artifacts:\n  mnist:\n    path: models/mnist.onnx\n    type: model\n    desc: digits\n    meta:\n      accuracy: 0.97\n',
    });
    await git(work, 'add', 'models/mnist.onnx.dvc', 'models/.gitignore', 'dvc.yaml');
    await git(work, 'commit', '--quiet', '-m', 'Add mnist');
    await git(work, 'tag', '-a', 'mnist@v1.0.0', '-m', 'Registering artifact mnist version v1.0.0');
    await git(work, 'tag', '-a', 'mnist#prod#1', '-m', 'Assigning stage prod to artifact mnist version v1.0.0');
    // v1.1.0 as DVC 3 writes it: `hash: md5`, the object under files/md5/.
    await writeFiles(store, { [`files/md5/${md5(v2).slice(0, 2)}/${md5(v2).slice(2)}`]: v2 });
    await writeFiles(work, {
      'models/mnist.onnx.dvc': `outs:\n- md5: ${md5(v2)}\n  size: ${v2.byteLength}\n  hash: md5\n  path: mnist.onnx\n`,
    });
    await git(work, 'commit', '--quiet', '-am', 'Retrain mnist');
    await git(work, 'tag', '-a', 'mnist@v1.1.0', '-m', 'Registering artifact mnist version v1.1.0');
    await git(work, 'tag', '-a', 'mnist#staging#2', '-m', 'Assigning stage staging to artifact mnist version v1.1.0');
    await git(work, 'push', '--quiet', 'origin', 'main', '--tags');
  });

  it('resolves versions, stages and the newest version from the tags, and loads and runs the model', async () => {
    const registry = open();
    expect(await registry.resolve('dvc:mnist@v1.0.0')).toMatchObject({
      name: 'mnist',
      version: 'v1.0.0',
      aliases: ['prod'],
      metadata: { accuracy: 0.97 },
      size: v1.byteLength,
      versionRef: 'dvc:mnist@v1.0.0',
    });
    expect((await registry.resolve('dvc:mnist')).version).toBe('v1.1.0');
    expect((await registry.resolve('dvc:mnist#staging')).version).toBe('v1.1.0');
    expect((await registry.listVersions('mnist')).map((v) => [v.version, v.aliases])).toEqual([
      ['v1.0.0', ['prod']],
      ['v1.1.0', ['staging']],
    ]);
    const model = await loadModel('dvc:mnist#prod', { registry, workers: 1, logger: silentLogger });
    try {
      const { images, labels } = digits(20);
      expect(model.version).toBe('v1.0.0');
      const out = await model.predict({ pixels: images });
      const predicted = (out.label?.toArray() as (number | bigint)[]).map(Number);
      expect(predicted.filter((p, i) => p === labels[i]).length).toBeGreaterThanOrEqual(16);
    } finally {
      await model.close();
    }
  });

  it('lets the latest stage event win, and an unassignment remove the stage', async () => {
    const registry = open();
    await registry.setAlias('mnist', 'prod', 'v1.1.0');
    expect((await registry.resolve('dvc:mnist#prod')).version).toBe('v1.1.0');
    await registry.setAlias('mnist', 'prod', 'v1.0.0');
    expect((await registry.resolve('dvc:mnist#prod')).version).toBe('v1.0.0');
    await registry.deleteAlias('mnist', 'prod');
    expect(await codeOf(registry.resolve('dvc:mnist#prod'))).toBe('ALIAS_NOT_FOUND');
    const tags = await git(
      origin.bare,
      'for-each-ref',
      '--format=%(refname:strip=2)|%(contents:subject)',
      'refs/tags/mnist#*',
    );
    expect(tags.trim().split('\n')).toEqual([
      "mnist#prod!#5|Unassigning stage 'prod' from artifact 'mnist' version 'v1.0.0'",
      'mnist#prod#1|Assigning stage prod to artifact mnist version v1.0.0',
      'mnist#prod#3|Assigning stage prod to artifact mnist version v1.1.0',
      'mnist#prod#4|Assigning stage prod to artifact mnist version v1.0.0',
      'mnist#staging#2|Assigning stage staging to artifact mnist version v1.1.0',
    ]);
    await registry.setAlias('mnist', 'prod', 'v1.0.0');
  });

  it('refuses content whose md5 differs from the .dvc file, and caches nothing', async () => {
    const h = md5(v1);
    const object = join(store, h.slice(0, 2), h.slice(2));
    const good = await readFile(object);
    await writeFile(object, Buffer.concat([good.subarray(0, 100), Buffer.from('tampered'), good.subarray(108)]));
    try {
      const registry = open();
      const resolved = await registry.resolve('dvc:mnist@v1.0.0');
      expect(await codeOf(registry.fetch(resolved))).toBe('INTEGRITY_MISMATCH');
      await writeFile(object, good);
      expect(same(await read(await registry.fetch(resolved)), v1)).toBe(true);
    } finally {
      await writeFile(object, good);
    }
  });
});

describe('DVC registry: publish', () => {
  it('writes the .dvc file, .gitignore, annotation and GTO tags exactly, and pushes the object', async () => {
    const registry = open();
    const bytes = tinyMnist().onnx;
    const published = await registry.publish({ name: 'digits', bytes, aliases: ['prod'], metadata: { owner: 'ci' } });
    expect(published).toMatchObject({ name: 'digits', version: 'v0.0.1', sha256: sha256(bytes), aliases: ['prod'] });
    const h = md5(bytes);
    expect(await git(origin.bare, 'show', 'main:models/digits.onnx.dvc')).toBe(
      `outs:\n- md5: ${h}\n  size: ${bytes.byteLength}\n  hash: md5\n  path: digits.onnx\nmeta:\n  sha256: ${sha256(bytes)}\n`,
    );
    expect(await git(origin.bare, 'show', 'main:models/.gitignore')).toContain('/digits.onnx\n');
    expect(await git(origin.bare, 'show', 'main:dvc.yaml')).toContain(
      'digits:\n    path: models/digits.onnx\n    type: model\n    meta:\n      owner: ci\n',
    );
    expect(same(await readFile(join(store, 'files/md5', h.slice(0, 2), h.slice(2))), bytes)).toBe(true);
    const tags = await git(
      origin.bare,
      'for-each-ref',
      '--format=%(refname:strip=2)|%(objecttype)|%(contents:subject)',
      'refs/tags/digits*',
    );
    expect(tags.trim().split('\n')).toEqual([
      'digits#prod#1|tag|Assigning stage prod to artifact digits version v0.0.1',
      'digits@v0.0.1|tag|Registering artifact digits version v0.0.1',
    ]);
    // The previous annotation of mnist is kept as it was.
    expect(await git(origin.bare, 'show', 'main:dvc.yaml')).toContain('mnist:\n    path: models/mnist.onnx');
    expect((await registry.publish({ name: 'digits', bytes })).version).toBe('v0.0.2');
  });

  it('records lineage and the drift baseline with the version, and hands them back on resolve', async () => {
    const registry = open();
    const lineage = { git: { commit: 'a'.repeat(40), dirty: false } };
    const baseline = { version: 1, features: [{ name: 'pixels', mean: 0.13 }] };
    await registry.publish({ name: 'traced', bytes: new TextEncoder().encode('traced'), lineage, baseline });
    const resolved = await registry.resolve('dvc:traced');
    expect(resolved.lineage).toMatchObject(lineage);
    expect(resolved.metadata['modelship.baseline']).toEqual(baseline);
    expect(await git(origin.bare, 'show', 'main:models/traced.onnx.modelship-baseline.json')).toBe(
      JSON.stringify(baseline),
    );
  });

  it('rebuilds a publish that lost a race with another publisher on the new state', async () => {
    const [a, b] = [open(), open()];
    await a.resolve('dvc:mnist');
    await b.resolve('dvc:mnist');
    const both = await Promise.all([
      a.publish({ name: 'raced', bytes: new TextEncoder().encode('from a') }),
      b.publish({ name: 'raced', bytes: new TextEncoder().encode('from b') }),
    ]);
    expect(both.map((p) => p.version).sort()).toEqual(['v0.0.1', 'v0.0.2']);
    const tags = await git(origin.bare, 'tag', '--list', 'raced@*');
    expect(tags.trim().split('\n')).toEqual(['raced@v0.0.1', 'raced@v0.0.2']);
    const log = await git(origin.bare, 'log', '--format=%s', '-2', 'main');
    expect(log.trim().split('\n').sort()).toEqual([
      'Register raced v0.0.1 (models/raced.onnx)',
      'Register raced v0.0.2 (models/raced.onnx)',
    ]);
  });
});
