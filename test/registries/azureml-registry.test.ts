/** Azure ML registry beyond the contract: auth failures, throttling, paging, digests, refs, folders, loadModel, hot-swap. */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentWith, loadModel, silentLogger, type DeploymentEvents } from 'modelship';
import { ModelshipError } from '../../src/errors/index.js';
import { createAzureMlRegistry, parseAzureMlRef, type AzureMlRegistry } from '../../src/registries/azureml/index.js';
import { digits } from '../helpers/deployments.js';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { startAzureMl, type AzureMlFixture } from '../servers/azure/azureml-fixture.js';

const fast = { retries: 3, retryDelayMs: 1, maxRetryDelayMs: 2, timeoutMs: 10_000 };
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    expect(ModelshipError.isInstance(e), String(e)).toBe(true);
    return (e as ModelshipError).code;
  }
}

describe('Azure ML registry', () => {
  let f: AzureMlFixture;
  let registry: AzureMlRegistry;
  let cacheDir: string;
  const open = (extra: Record<string, unknown> = {}): AzureMlRegistry =>
    createAzureMlRegistry({ ...f.options, cacheDir, ...fast, ...extra });

  beforeAll(async () => {
    f = await startAzureMl();
    cacheDir = join(await tempDir(), 'cache');
    registry = open();
  });
  afterAll(async () => {
    await f?.close();
  });

  it('maps 401 and 403 to REGISTRY_AUTH_FAILED without the token in the message', async () => {
    await registry.publish({ name: 'authz', bytes: bytes('a') });
    const wrong = open({
      credential: { getToken: async () => ({ token: 'not-a-token', expiresOnTimestamp: Date.now() + 3_600_000 }) },
    });
    const e401 = await wrong.resolve('azureml:authz:1').then(
      () => undefined as never,
      (e: unknown) => e as ModelshipError,
    );
    expect(e401).toMatchObject({ code: 'REGISTRY_AUTH_FAILED', details: { status: 401 } });
    expect(e401.message).not.toContain('not-a-token');
    f.arm.state.denied.add('reader-less');
    const denied = open({
      credential: { getToken: async () => ({ token: 'reader-less', expiresOnTimestamp: Date.now() + 3_600_000 }) },
    });
    const e403 = await denied.resolve('azureml:authz:1').then(
      () => undefined as never,
      (e: unknown) => e as ModelshipError,
    );
    expect(e403).toMatchObject({ code: 'REGISTRY_AUTH_FAILED', details: { status: 403 } });
    expect(e403.message).toContain('AuthorizationFailed');
    const failing = open({
      credential: {
        getToken: async () => Promise.reject(Object.assign(new Error('no'), { name: 'CredentialUnavailableError' })),
      },
    });
    expect(await codeOf(failing.resolve('azureml:authz:1'))).toBe('REGISTRY_AUTH_FAILED');
  });

  it('retries 429 TooManyRequests (Retry-After) and succeeds', async () => {
    await registry.publish({ name: 'throttled', bytes: bytes('t') });
    const before = f.arm.state.log.length;
    f.arm.state.throttle = 2;
    expect((await registry.resolve('azureml:throttled:1')).version).toBe('1');
    expect(f.arm.state.throttle).toBe(0);
    expect(f.arm.state.log.length - before).toBe(4); // two 429s, then the model and its version
    f.arm.state.throttle = 10;
    const e = await open({ retries: 1 })
      .resolve('azureml:throttled:1')
      .then(
        () => undefined as never,
        (x: unknown) => x as ModelshipError,
      );
    f.arm.state.throttle = 0;
    expect(e).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', retryable: true });
  });

  it('lists every version across nextLink pages, oldest first, and refuses a nextLink to another host', async () => {
    for (let i = 0; i < 5; i++) await registry.publish({ name: 'paged', bytes: bytes(`p${i}`) });
    await registry.setAlias('paged', 'production', '3');
    const before = f.arm.state.log.length;
    const versions = await registry.listVersions('paged');
    expect(versions.map((v) => [v.version, v.aliases])).toEqual([
      ['1', []],
      ['2', []],
      ['3', ['production']],
      ['4', []],
      ['5', []],
    ]);
    expect(f.arm.state.log.slice(before).filter((l) => l.endsWith('/versions')).length).toBe(3); // pages of 2
    f.arm.state.nextLinkOrigin = 'https://attacker.example';
    try {
      const e = await registry.listVersions('paged').then(
        () => undefined as never,
        (x: unknown) => x as ModelshipError,
      );
      expect(e).toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
      expect(e.message).toContain('another host');
    } finally {
      delete f.arm.state.nextLinkOrigin;
    }
  });

  it('refuses a blob whose content does not match its Content-MD5, and one that no longer matches the sha256', async () => {
    const fresh = open({ cacheDir: join(await tempDir(), 'c2') });
    const p = await fresh.publish({ name: 'tampered', bytes: bytes('the original model') });
    const uri = (await f.arm.state.scopes.get('workspaces/ml-ws')?.models.get('tampered')?.versions.get(p.version))
      ?.properties.modelUri as string;
    const path = uri.split('/paths/')[1] as string;
    const blob = f.blobs.getContainerClient(f.container).getBlockBlobClient(path);
    const md5Of = (b: Uint8Array) => createHash('md5').update(b).digest();
    // Different bytes, then the old Content-MD5 set back (Set Blob Properties does not check it): the MD5 check refuses.
    await blob.uploadData(Buffer.from('evil bytes, same length!!'));
    await blob.setHTTPHeaders({ blobContentMD5: md5Of(bytes('the original model')) });
    const resolved = await fresh.resolve(`azureml:tampered:${p.version}`);
    expect(await codeOf(fresh.fetch(resolved))).toBe('INTEGRITY_MISMATCH');
    // Different bytes with their own MD5: storage is consistent, but the sha256 recorded at publish is not.
    const evil = bytes('evil bytes with a fresh MD5');
    await blob.uploadData(Buffer.from(evil), { blobHTTPHeaders: { blobContentMD5: md5Of(evil) } });
    expect(await codeOf(fresh.fetch(await fresh.resolve(`azureml:tampered:${p.version}`)))).toBe('INTEGRITY_MISMATCH');
  });

  it('reads datastore URIs, folder models and registry references', async () => {
    const path = 'raw/folder-model';
    const model = tinyMnist().onnx;
    await f.blobs
      .getContainerClient(f.container)
      .getBlockBlobClient(`${path}/model.onnx`)
      .uploadData(Buffer.from(model));
    await f.blobs.getContainerClient(f.container).getBlockBlobClient(`${path}/README.md`).uploadData(Buffer.from('x'));
    const ds = `azureml://subscriptions/${f.options.subscriptionId}/resourcegroups/${f.options.resourceGroup}/workspaces/ml-ws/datastores/workspaceblobstore/paths/${path}/model.onnx`;
    const r = await registry.resolve(ds);
    expect(r).toMatchObject({ name: 'model.onnx', size: model.byteLength });
    const a = await registry.fetch(r);
    expect(a.kind).toBe('file');
    if (a.kind === 'file') a.release?.();
    // A custom_model registered from a folder: the .onnx inside is picked.
    const scope = f.arm.state.scopes.get('workspaces/ml-ws');
    scope?.models.set('folder', {
      tags: {},
      properties: {},
      description: null,
      isArchived: false,
      createdAt: new Date().toISOString(),
      versions: new Map([
        [
          '1',
          {
            properties: { modelUri: ds.replace('/model.onnx', ''), modelType: 'custom_model' },
            createdAt: new Date().toISOString(),
          },
        ],
      ]),
    });
    const folder = await registry.fetch(await registry.resolve('azureml:folder:1'));
    expect(folder.kind).toBe('file');
    if (folder.kind === 'file') folder.release?.();
    // A registry model: the same ARM shapes under registries/<r>.
    f.arm.state.scopes.set('registries/shared-reg', {
      models: new Map([['mnist', scope?.models.get('folder') as never]]),
      datastores: new Map(),
    });
    const shared = await registry.resolve('azureml://registries/shared-reg/models/mnist/versions/1');
    expect(shared).toMatchObject({
      name: 'mnist',
      version: '1',
      versionRef: 'azureml://registries/shared-reg/models/mnist/versions/1',
    });
    expect(await codeOf(registry.resolve('azureml://registries/nope-reg/models/mnist/versions/1'))).toBe(
      'MODEL_NOT_FOUND',
    );
  });

  it('rejects hostile references and aliases with INVALID_REF / INVALID_ARGUMENT before any request', async () => {
    const before = f.arm.state.log.length;
    for (const bad of [
      '',
      'azureml:',
      'azureml:a@b:1',
      'azureml:../x',
      'azureml:x@',
      'azureml:x:',
      'azureml://registries/r/models/m',
      'azureml://subscriptions/s/resourcegroups/g/workspaces/w/datastores/d/paths/a/../b',
      `azureml:${'a'.repeat(3000)}`,
    ])
      expect(await codeOf(registry.resolve(bad)), bad).toBe('INVALID_REF');
    expect(f.arm.state.log.length).toBe(before);
    expect(parseAzureMlRef('azureml:m@latest')).toEqual({ kind: 'latest', name: 'm' });
    expect(await codeOf(registry.setAlias('paged', 'latest', '1'))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(registry.setAlias('paged', 'x y', '1'))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(registry.setAlias('paged', 'ok', '99'))).toBe('VERSION_NOT_FOUND');
    expect(await codeOf(registry.deleteAlias('paged', 'never-set'))).toBe('ALIAS_NOT_FOUND');
    expect(() => createAzureMlRegistry({ ...f.options, workspace: 'x' })).toThrow(/workspace/);
    expect(() => createAzureMlRegistry({ ...f.options, registry: 'shared-reg' })).toThrow(/not both/);
  });

  it('loads by alias with loadModel and hot-swaps a deployment when the alias tag moves', async () => {
    const { images, labels } = digits(20);
    await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, aliases: ['production'] });
    const v2 = await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, metadata: { note: 'retrained' } });
    const d = await createDeploymentWith((ref) => loadModel(ref, { registry, workers: 1, logger: silentLogger }), {
      name: 'mnist',
      registry,
      stable: 'azureml:mnist@production',
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
