import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelshipError } from '../../../src/errors/index.js';
import { createDvcRegistry, type DvcRegistry } from '../../../src/registries/dvc/index.js';
import type { ModelArtifact } from '../../../src/spec/registry.js';
import { tempDir, tinyMnist } from '../../helpers/models.js';
import { startGitHttpServer, type GitHttpServer } from '../../servers/git/git-http-server.js';
import { createDvcOrigin, git, writeFiles } from './repo.js';

const fast = { retries: 2, retryDelayMs: 1, maxRetryDelayMs: 2, timeoutMs: 10_000 };
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

describe('DVC registry: Git LFS and git over HTTP', () => {
  const bytes = tinyMnist().onnx;
  beforeAll(async () => {
    const { work } = origin;
    const oid = sha256(bytes);
    server.lfs.set(oid, bytes);
    await git(work, 'pull', '--quiet', 'origin', 'main');
    await writeFiles(work, {
      '.gitattributes': '*.onnx filter=lfs diff=lfs merge=lfs -text\n',
      'lfs/model.onnx': `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${bytes.byteLength}\n`,
      'artifacts.yaml': 'lfsmodel:\n  type: model\n  path: lfs/model.onnx\n',
      'in-git/model.onnx': bytes,
      'lfs/missing.onnx': `version https://git-lfs.github.com/spec/v1\noid sha256:${'0'.repeat(64)}\nsize 10\n`,
      'artifacts-extra': '',
    });
    await writeFiles(work, {
      'artifacts.yaml':
        'lfsmodel:\n  type: model\n  path: lfs/model.onnx\nlost:\n  type: model\n  path: lfs/missing.onnx\nescape:\n  path: ../../etc/passwd\nplain:\n  path: in-git/model.onnx\n',
    });
    await git(
      work,
      'add',
      '.gitattributes',
      'lfs/model.onnx',
      'lfs/missing.onnx',
      'artifacts.yaml',
      'in-git/model.onnx',
    );
    await git(work, 'commit', '--quiet', '-m', 'LFS model');
    for (const name of ['lfsmodel', 'lost', 'escape', 'plain'])
      await git(work, 'tag', '-a', `${name}@v1.0.0`, '-m', `Registering artifact ${name} version v1.0.0`);
    await git(work, 'push', '--quiet', 'origin', 'main', '--tags');
  });

  it('fetches an LFS pointer through the batch API, retrying a 429, and checks the sha256', async () => {
    const registry = open({ repo: `${server.url}/models.git` });
    const resolved = await registry.resolve('dvc:lfsmodel');
    expect(resolved).toMatchObject({ version: 'v1.0.0', sha256: sha256(bytes), size: bytes.byteLength });
    const before = server.lfsBatches.length;
    server.failLfsBatches(1, 429);
    expect(same(await read(await registry.fetch(resolved)), bytes)).toBe(true);
    expect(server.lfsBatches.length - before).toBe(2);
    expect(server.lfsBatches.at(-1)).toEqual({
      operation: 'download',
      transfers: ['basic'],
      objects: [{ oid: sha256(bytes), size: bytes.byteLength }],
      hash_algo: 'sha256',
    });
  });

  it('reads a model committed to Git itself from the tagged commit', async () => {
    const registry = open({ repo: `${server.url}/models.git` });
    const resolved = await registry.resolve('dvc:plain@v1.0.0');
    expect(resolved).toMatchObject({ size: bytes.byteLength });
    expect(same(await read(await registry.fetch(resolved)), bytes)).toBe(true);
  });

  it('refuses a tampered LFS object, and answers a missing one and a refused token with their codes', async () => {
    const registry = open({ repo: `${server.url}/models.git` });
    const resolved = await registry.resolve('dvc:lfsmodel');
    server.tamperLfs(sha256(bytes), new Uint8Array(bytes.byteLength));
    try {
      expect(await codeOf(registry.fetch(resolved))).toBe('INTEGRITY_MISMATCH');
    } finally {
      server.lfs.set(sha256(bytes), bytes);
      server.tamperLfs(sha256(bytes), bytes);
    }
    expect(await codeOf(registry.fetch(await registry.resolve('dvc:lost')))).toBe('MODEL_NOT_FOUND');
    server.failLfsBatches(1, 401);
    expect(await codeOf(open({ repo: `${server.url}/models.git` }).fetch(resolved))).toBe('REGISTRY_AUTH_FAILED');
  });

  it('answers refused git credentials with REGISTRY_AUTH_FAILED, never showing the password', async () => {
    const guarded = await startGitHttpServer({ root, basicAuth: 'ci:s3cret' });
    try {
      const url = guarded.url.replace('http://', 'http://ci:wrong-password@');
      let error: unknown;
      try {
        await open({ repo: `${url}/models.git` }).resolve('dvc:lfsmodel');
      } catch (e) {
        error = e;
      }
      expect(ModelshipError.hasCode(error, 'REGISTRY_AUTH_FAILED')).toBe(true);
      expect(JSON.stringify({ m: (error as Error).message, d: (error as ModelshipError).details })).not.toContain(
        'wrong-password',
      );
      const ok = open({ repo: `${guarded.url.replace('http://', 'http://ci:s3cret@')}/models.git` });
      expect((await ok.resolve('dvc:lfsmodel@v1.0.0')).version).toBe('v1.0.0');
    } finally {
      await guarded.close();
    }
  });
});

describe('DVC registry: hostile input', () => {
  it('refuses bad references, options and annotation paths with typed errors', async () => {
    const registry = open();
    for (const ref of [
      'dvc:',
      'dvc:../x',
      'dvc:-x',
      'dvc:Mnist',
      'dvc:a@1.0',
      'dvc:a#b#c',
      'dvc:a#--upload-pack=x',
      'dvc:a@v1.0.0;rm',
    ])
      expect(await codeOf(registry.resolve(ref)), ref).toBe('INVALID_REF');
    expect(() => createDvcRegistry({ repo: '--upload-pack=touch /tmp/x' })).toThrow(/must not start/);
    expect(await codeOf(registry.resolve('dvc:escape'))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(registry.publish({ name: 'Bad Name', bytes: new Uint8Array(1) }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(registry.publish({ name: 'ok', bytes: new Uint8Array(1), aliases: ['x#1'] }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await codeOf(registry.setAlias('lfsmodel', 'prod', 'v9.9.9'))).toBe('VERSION_NOT_FOUND');
    expect(await codeOf(registry.setAlias('nothing', 'prod', 'v1.0.0'))).toBe('MODEL_NOT_FOUND');
  });
});
