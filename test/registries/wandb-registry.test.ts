import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentWith, loadModel, silentLogger, type Deployment, type DeploymentEvents } from 'modelship';
import { ModelshipError } from '../../src/errors/index.js';
import { createWandbRegistry, parseWandbRef, type WandbRegistry } from '../../src/registries/wandb/index.js';
import { digits } from '../helpers/deployments.js';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { startWandbServer, type WandbTestServer } from '../servers/wandb/server.js';

const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text);
const fast = { retries: 1, retryDelayMs: 1, maxRetryDelayMs: 2 };

async function errorOf(p: Promise<unknown>): Promise<ModelshipError> {
  try {
    await p;
  } catch (e) {
    expect(ModelshipError.isInstance(e), String(e)).toBe(true);
    return e as ModelshipError;
  }
  throw new Error('expected a failure');
}

describe('createWandbRegistry', () => {
  let server: WandbTestServer;
  let registry: WandbRegistry;
  let cacheDir: string;

  beforeAll(async () => {
    server = await startWandbServer();
    cacheDir = await tempDir();
    registry = createWandbRegistry({
      baseUrl: server.url,
      apiKey: server.state.apiKey,
      entity: 'acme',
      project: 'vision',
      cacheDir,
      ...fast,
    });
  });
  afterAll(() => server.close());

  it('parses artifact, version and registry-collection references', () => {
    expect(parseWandbRef('wandb:acme/vision/mnist:production')).toEqual({
      entity: 'acme',
      project: 'vision',
      name: 'mnist',
      selector: { kind: 'alias', alias: 'production' },
    });
    expect(parseWandbRef('wandb:acme/vision/mnist:v3')).toMatchObject({ selector: { kind: 'version', index: 3 } });
    expect(parseWandbRef('wandb:acme/wandb-registry-model/mnist')).toMatchObject({
      project: 'wandb-registry-model',
      selector: { kind: 'alias', alias: 'latest' },
    });
    expect(parseWandbRef('vision/mnist:prod', { entity: 'team' })).toMatchObject({ entity: 'team', project: 'vision' });
    expect(() => parseWandbRef('wandb:vision/mnist:prod')).toThrow(/no entity/);
    expect(() => parseWandbRef('wandb:a/b/c/d')).toThrow(/INVALID_REF|too many/);
  });

  it('sends Basic api:<key>, reads WANDB_* from the environment, and maps a refused key to REGISTRY_AUTH_FAILED', async () => {
    await registry.publish({ name: 'envtest', bytes: bytesOf('e'), aliases: ['prod'] });
    const saved = { ...process.env };
    try {
      Object.assign(process.env, {
        WANDB_BASE_URL: server.url,
        WANDB_API_KEY: server.state.apiKey,
        WANDB_ENTITY: 'acme',
        WANDB_PROJECT: 'vision',
      });
      const viaEnv = createWandbRegistry({ cacheDir, ...fast });
      expect((await viaEnv.resolve('envtest:prod')).version).toBe('v0');
      process.env.WANDB_API_KEY = 'wrong';
      expect((await errorOf(createWandbRegistry({ cacheDir, ...fast }).resolve('envtest:prod'))).code).toBe(
        'REGISTRY_AUTH_FAILED',
      );
    } finally {
      process.env = saved;
    }
  });

  it('resolves registry collections like any project', async () => {
    await registry.publish({ name: 'wandb-registry-model/digits', bytes: bytesOf('r0'), aliases: ['production'] });
    const resolved = await registry.resolve('wandb:acme/wandb-registry-model/digits:production');
    expect(resolved).toMatchObject({
      name: 'digits',
      version: 'v0',
      aliases: ['production'],
      versionRef: 'wandb:acme/wandb-registry-model/digits:v0',
    });
  });

  it('checks the base64 MD5 before caching, and never puts the signed URL in a message', async () => {
    await registry.publish({ name: 'tampered', bytes: bytesOf('original bytes') });
    const stored = server.state.artifacts.artifacts.find((a) => a.collection === 'tampered')!;
    const key = [...stored.files.values()][0]!.key;
    server.state.artifacts.blobs.set(key, Buffer.from('swapped in storage'));
    const resolved = await registry.resolve('wandb:acme/vision/tampered:v0');
    const mismatch = await errorOf(registry.fetch(resolved));
    expect(mismatch.code).toBe('INTEGRITY_MISMATCH');
    expect(mismatch.message).toMatch(/MD5/);
    server.state.artifacts.blobs.delete(key);
    const gone = await errorOf(registry.fetch(resolved));
    expect(gone.code).toBe('MODEL_NOT_FOUND');
    for (const e of [mismatch, gone])
      expect(`${e.message} ${JSON.stringify(e.details)}`).not.toContain(server.state.artifacts.signature);
  });

  it('retries a 5xx, and maps GraphQL errors that are not "not found" to a non-retryable REGISTRY_UNAVAILABLE', async () => {
    await registry.publish({ name: 'flaky', bytes: bytesOf('f'), aliases: ['prod'] });
    server.state.faults.push({ path: /^\/graphql$/, status: 503, times: 1 });
    expect((await registry.resolve('wandb:acme/vision/flaky:prod')).version).toBe('v0');
    const refused = await errorOf(registry.publish({ name: 'flaky', bytes: bytesOf('x'), type: 'dataset' }));
    expect(refused).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', retryable: false });
    expect(refused.message).toMatch(/another type/);
  });

  it('asks W&B once when it answers with GraphQL errors: a missing alias or version, a refused query, a refused mutation', async () => {
    const patient = createWandbRegistry({
      baseUrl: server.url,
      apiKey: server.state.apiKey,
      entity: 'acme',
      project: 'vision',
      cacheDir,
      retries: 3,
      retryDelayMs: 1,
      maxRetryDelayMs: 2,
    });
    const count = (operation: string): number => server.state.requests.filter((r) => r.operation === operation).length;
    await patient.publish({ name: 'onecall', bytes: bytesOf('o'), aliases: ['prod'] });
    const byName = count('ArtifactByName');
    expect(await errorOf(patient.resolve('wandb:acme/vision/onecall:nope'))).toMatchObject({ code: 'ALIAS_NOT_FOUND' });
    expect(await errorOf(patient.resolve('wandb:acme/vision/onecall:v9'))).toMatchObject({ code: 'VERSION_NOT_FOUND' });
    expect(count('ArtifactByName') - byName).toBe(2);

    const collections = count('ArtifactCollection');
    server.state.projectLacks = ['artifactCollection'];
    try {
      const refused = await errorOf(patient.resolve('wandb:acme/vision/onecall:nope'));
      expect(refused).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', retryable: false });
      expect(refused.message).toMatch(/Cannot query field "artifactCollection"/);
    } finally {
      delete server.state.projectLacks;
    }
    expect(count('ArtifactCollection') - collections).toBe(1);

    const creates = count('CreateArtifact');
    const clash = await errorOf(patient.publish({ name: 'onecall', bytes: bytesOf('x'), type: 'dataset' }));
    expect(clash).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', retryable: false });
    expect(count('CreateArtifact') - creates).toBe(1);
  });

  it('hot-swaps a deployment when the W&B alias moves', async () => {
    const { images, labels } = digits(20);
    await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, aliases: ['production'] });
    await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx });
    const d: Deployment = await createDeploymentWith(
      (ref) => loadModel(ref, { registry, workers: 1, logger: silentLogger }),
      {
        name: 'mnist',
        registry,
        stable: 'wandb:acme/vision/mnist:production',
        watch: { intervalMs: 10 },
        validate: { inputs: images, expect: labels, minAccuracy: 0.8 },
        logger: silentLogger,
      },
    );
    try {
      expect(d.version).toBe('v0');
      const switched = new Promise<DeploymentEvents['switch']>((resolve) => {
        const off = d.on('switch', (e) => {
          off();
          resolve(e);
        });
      });
      await registry.setAlias('mnist', 'production', 'v1');
      expect(await switched).toMatchObject({ from: 'v0', to: 'v1', reason: 'watch' });
      expect((await d.predict([images[0]!])).version).toBe('v1');
    } finally {
      await d.close();
    }
  });
});
