/** Vertex AI registry beyond the contract: auth failures, throttling, paging, digests, refs, folders, loadModel, hot-swap. */
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentWith, loadModel, silentLogger, type DeploymentEvents } from 'modelship';
import { ModelshipError } from '../../src/errors/index.js';
import { createVertexRegistry, parseVertexRef, type VertexRegistry } from '../../src/registries/vertex/index.js';
import { digits } from '../helpers/deployments.js';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { createServiceAccount } from '../servers/vertex/auth.js';
import { putObject } from '../servers/vertex/gcs-handler.js';
import { startVertexServer, type VertexTestServer, vertexTestOptions } from '../servers/vertex/server.js';

const fast = { retries: 2, retryDelayMs: 1, maxRetryDelayMs: 2, timeoutMs: 10_000 };
const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text);

async function errorOf(p: Promise<unknown>): Promise<ModelshipError> {
  try {
    await p;
  } catch (e) {
    expect(ModelshipError.isInstance(e), String(e)).toBe(true);
    return e as ModelshipError;
  }
  throw new Error('expected a failure');
}

describe('createVertexRegistry', () => {
  let server: VertexTestServer;
  let cacheDir: string;
  let registry: VertexRegistry;
  const open = (extra: Record<string, unknown> = {}): VertexRegistry =>
    createVertexRegistry({
      ...vertexTestOptions(server, cacheDir),
      ...fast,
      ...extra,
    });

  /** A model version registered outside modelship (no digest in its metadata), its files put in GCS directly. */
  function registerRaw(id: string, folder: string, files: Record<string, Uint8Array>): void {
    for (const [name, bytes] of Object.entries(files))
      putObject(server.gcs, 'models', `${folder}${name}`, Buffer.from(bytes));
    server.vertex.models.set(id, {
      displayName: id,
      createTime: new Date().toISOString(),
      versions: [
        {
          versionId: '1',
          versionAliases: ['default'],
          versionCreateTime: new Date().toISOString(),
          displayName: id,
          artifactUri: `gs://models/${folder}`,
          labels: { team: 'risk' },
          versionDescription: 'trained by hand',
        },
      ],
    });
  }

  beforeAll(async () => {
    server = await startVertexServer();
    cacheDir = join(await tempDir(), 'cache');
    registry = open();
  });
  afterAll(async () => {
    await server.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('parses full resource names, short names, version ids, aliases and latest; refuses the rest', () => {
    expect(parseVertexRef('vertex:projects/p/locations/europe-west4/models/fraud@production')).toEqual({
      project: 'p',
      location: 'europe-west4',
      model: 'fraud',
      kind: 'alias',
      selector: 'production',
    });
    expect(parseVertexRef('vertex:fraud')).toEqual({ model: 'fraud', kind: 'default' });
    expect(parseVertexRef('vertex:fraud@3')).toEqual({ model: 'fraud', kind: 'version', selector: '3' });
    expect(parseVertexRef('fraud@latest')).toEqual({ model: 'fraud', kind: 'latest' });
    for (const bad of [
      '',
      'vertex:',
      'vertex:a/b',
      'vertex:fraud@',
      'vertex:fraud@Prod',
      'vertex:fraud@0',
      'vertex:../x',
      'vertex:f@a b',
    ])
      expect(() => parseVertexRef(bad), bad).toThrow(expect.objectContaining({ code: 'INVALID_REF' }));
  });

  it('resolves a full resource name and lists every page of versions in order', async () => {
    server.vertex.maxPageSize = 2;
    try {
      for (let i = 1; i <= 5; i++) await registry.publish({ name: 'paged', bytes: bytesOf(`paged ${i}`) });
      const before = server.vertex.requests.filter((r) => r.path.endsWith(':listVersions')).length;
      const versions = await registry.listVersions('vertex:paged');
      expect(versions.map((v) => v.version)).toEqual(['1', '2', '3', '4', '5']);
      // Five versions two at a time: three pages, each following nextPageToken.
      expect(server.vertex.requests.filter((r) => r.path.endsWith(':listVersions')).length - before).toBe(3);
      const full = await registry.resolve(
        `vertex:projects/${server.vertex.project}/locations/us-central1/models/paged@3`,
      );
      expect(full).toMatchObject({ name: 'paged', version: '3' });
      expect(full.versionRef).toBe(
        `vertex:projects/${server.vertex.projectNumber}/locations/us-central1/models/paged@3`,
      );
      expect((await registry.resolve(full.versionRef as string)).version).toBe('3');
      expect((await registry.resolve('vertex:paged@latest')).version).toBe('5');
    } finally {
      server.vertex.maxPageSize = 100;
    }
  });

  it('answers 401 and 403 with REGISTRY_AUTH_FAILED, never echoing the key or token', async () => {
    const stranger = createServiceAccount('modelship-test', 'stranger');
    const unknown = await errorOf(open({ credentials: stranger.keyFile }).resolve('vertex:paged@1'));
    expect(unknown).toMatchObject({ code: 'REGISTRY_AUTH_FAILED', retryable: false });
    expect(unknown.message).toContain('UNAUTHENTICATED');
    server.vertex.denied.add(server.account.email);
    try {
      const denied = await errorOf(open().resolve('vertex:paged@1'));
      expect(denied).toMatchObject({ code: 'REGISTRY_AUTH_FAILED' });
      expect(denied.message).toContain('PERMISSION_DENIED');
      for (const e of [unknown, denied]) {
        expect(e.message).not.toMatch(/PRIVATE KEY|Bearer|eyJ/);
        expect(JSON.stringify(e.details ?? {})).not.toMatch(/PRIVATE KEY|Bearer|eyJ/);
      }
    } finally {
      server.vertex.denied.clear();
    }
    const badToken = await errorOf(open({ accessToken: 'ya29.not-valid' }).listVersions('paged'));
    expect(badToken.code).toBe('REGISTRY_AUTH_FAILED');
    expect(badToken.message).not.toContain('ya29');
  });

  it('retries throttling (429 RESOURCE_EXHAUSTED with Retry-After) and 503, then answers', async () => {
    server.vertex.faults.push({ path: /models\/paged@2$/, status: 429, times: 1, retryAfterSeconds: 0 });
    server.vertex.faults.push({ path: /models\/paged@2$/, status: 503, times: 1 });
    const before = server.vertex.requests.length;
    expect((await registry.resolve('vertex:paged@2')).version).toBe('2');
    expect(server.vertex.requests.slice(before).map((r) => r.status)).toEqual([429, 503, 200]);
    // Past the retry budget the outage is REGISTRY_UNAVAILABLE, retryable (nothing cached for this ref).
    server.vertex.faults.push({ path: /models\/paged@4$/, status: 429, times: 5, retryAfterSeconds: 0 });
    const e = await errorOf(open().resolve('vertex:paged@4'));
    expect(e).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', retryable: true });
    server.vertex.faults.length = 0;
  });

  it('refuses a download whose bytes do not match Cloud Storage md5Hash, and caches nothing', async () => {
    const { version } = await registry.publish({ name: 'tampered', bytes: bytesOf('the real model') });
    const model = await registry.resolve(`vertex:tampered@${version}`);
    const object = [...(server.gcs.buckets.get('models') as Map<string, { md5Hash?: string }>).entries()].find(([k]) =>
      k.includes('/tampered/'),
    )?.[1];
    const good = object?.md5Hash;
    (object as { md5Hash?: string }).md5Hash = createHash('md5').update('something else').digest('base64');
    try {
      const e = await errorOf(registry.fetch(model));
      expect(e.code).toBe('INTEGRITY_MISMATCH');
      expect(e.message).toContain('md5');
    } finally {
      (object as { md5Hash?: string }).md5Hash = good;
    }
    // With the md5 right again the same version downloads: nothing bad was kept.
    const artifact = await registry.fetch(model);
    expect(artifact.kind === 'file' && new TextDecoder().decode(await readFile(artifact.path))).toBe('the real model');
  });

  it('refuses an object replaced behind the registry (sha256 recorded at publish), even with a consistent md5', async () => {
    const { version } = await registry.publish({ name: 'swapped', bytes: bytesOf('published bytes') });
    const key = [...(server.gcs.buckets.get('models') as Map<string, unknown>).keys()].find((k) =>
      k.includes('/swapped/'),
    );
    putObject(server.gcs, 'models', key as string, Buffer.from('other bytes, a new generation'));
    const e = await errorOf(registry.fetch(await registry.resolve(`vertex:swapped@${version}`)));
    expect(e.code).toBe('INTEGRITY_MISMATCH');
  });

  it('loads a model registered outside modelship: the one .onnx of its artifactUri folder, md5-checked, labels as metadata', async () => {
    registerRaw('handmade', 'exports/handmade/1/', {
      'model.onnx': bytesOf('handmade model'),
      'README.md': bytesOf('#'),
    });
    const resolved = await registry.resolve('vertex:handmade');
    expect(resolved).toMatchObject({
      version: '1',
      aliases: [],
      metadata: { team: 'risk', description: 'trained by hand' },
    });
    expect(resolved.sha256).toBeUndefined();
    const artifact = await registry.fetch(resolved);
    expect(artifact.kind === 'file' && new TextDecoder().decode(await readFile(artifact.path))).toBe('handmade model');

    registerRaw('twofiles', 'exports/two/', { 'a.onnx': bytesOf('a'), 'b.onnx': bytesOf('b') });
    expect((await errorOf(registry.fetch(await registry.resolve('vertex:twofiles')))).code).toBe('INVALID_ARGUMENT');
    const pick = open({ file: 'b.onnx' });
    const b = await pick.fetch(await pick.resolve('vertex:twofiles'));
    expect(b.kind === 'file' && new TextDecoder().decode(await readFile(b.path))).toBe('b');
    // A version whose artifactUri is not a gs:// folder is refused before any download.
    registerRaw('elsewhere', 'exports/elsewhere/', {});
    server.vertex.models.get('elsewhere')!.versions[0]!.artifactUri = 'https://attacker.example/model.onnx';
    expect((await errorOf(registry.fetch(await registry.resolve('vertex:elsewhere')))).code).toBe('INVALID_REF');
    registerRaw('empty', 'exports/empty/', { 'saved_model.pb': bytesOf('tf') });
    expect((await errorOf(registry.fetch(await registry.resolve('vertex:empty')))).code).toBe('MODEL_NOT_FOUND');
  });

  it('validates aliases, keeps default movable but not removable, and refuses bad publish input', async () => {
    await registry.publish({ name: 'aliased', bytes: bytesOf('a1'), aliases: ['prod'] });
    await registry.publish({ name: 'aliased', bytes: bytesOf('a2') });
    expect((await registry.resolve('vertex:aliased')).version).toBe('2');
    await registry.setAlias('aliased', 'default', '1');
    expect((await registry.resolve('vertex:aliased')).version).toBe('1');
    expect((await errorOf(registry.deleteAlias('aliased', 'default'))).code).toBe('INVALID_ARGUMENT');
    for (const bad of ['Prod', '1', 'latest', 'a', 'x_y'])
      expect((await errorOf(registry.setAlias('aliased', bad, '1'))).code, bad).toBe('INVALID_ARGUMENT');
    expect((await errorOf(registry.setAlias('aliased', 'prod', '9'))).code).toBe('VERSION_NOT_FOUND');
    expect((await errorOf(registry.setAlias('nope', 'prod', '1'))).code).toBe('MODEL_NOT_FOUND');
    await registry.deleteAlias('aliased', 'prod');
    expect((await errorOf(registry.resolve('vertex:aliased@prod'))).code).toBe('ALIAS_NOT_FOUND');
    expect((await errorOf(registry.deleteAlias('aliased', 'prod'))).code).toBe('ALIAS_NOT_FOUND');
    expect((await errorOf(registry.publish({ name: 'aliased@prod', bytes: bytesOf('x') }))).code).toBe(
      'INVALID_ARGUMENT',
    );
    expect((await errorOf(open({ bucket: undefined }).publish({ name: 'x', bytes: bytesOf('x') }))).code).toBe(
      'INVALID_OPTIONS',
    );
    expect((await errorOf(registry.publish({ name: 'x', bytes: bytesOf('x'), aliases: ['Bad'] }))).code).toBe(
      'INVALID_ARGUMENT',
    );
    expect(() => createVertexRegistry({ location: 'Europe West' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });

  it('waits out a slow models.upload operation', async () => {
    server.vertex.pollsUntilDone = 3;
    try {
      const published = await registry.publish({ name: 'slow', bytes: bytesOf('slow') });
      expect(published.version).toBe('1');
      const polls = server.vertex.requests.filter((r) => /models\/slow\/operations\/\d+$/.test(r.path));
      expect(polls.length).toBe(3);
    } finally {
      server.vertex.pollsUntilDone = 1;
    }
  });

  it('loads by alias with loadModel and hot-swaps a deployment when the alias moves', async () => {
    const { images, labels } = digits(20);
    await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, aliases: ['production'] });
    const v2 = await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, metadata: { note: 'retrained' } });
    const model = await loadModel('vertex:mnist@production', { registry, workers: 1, logger: silentLogger });
    try {
      expect(model.version).toBe('1');
      expect(Object.keys(await model.predict([images[0]!])).length).toBeGreaterThan(0);
    } finally {
      await model.close();
    }
    const d = await createDeploymentWith((ref) => loadModel(ref, { registry, workers: 1, logger: silentLogger }), {
      name: 'mnist',
      registry,
      stable: 'vertex:mnist@production',
      watch: { intervalMs: 10 },
      validate: { inputs: images, expect: labels, minAccuracy: 0.8 },
      logger: silentLogger,
    });
    try {
      expect(d.version).toBe('1');
      const switched = new Promise<DeploymentEvents['switch']>((resolve) => {
        const off = d.on('switch', (e) => {
          off();
          resolve(e);
        });
      });
      await registry.setAlias('mnist', 'production', v2.version);
      expect(await switched).toMatchObject({ from: '1', to: '2', reason: 'watch' });
      expect((await d.predict([images[0]!])).version).toBe('2');
    } finally {
      await d.close();
    }
  });
});
