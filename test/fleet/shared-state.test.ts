/**
 * The sharedState capability of the local and MLflow registries (compare-and-set, hostile keys and documents),
 * and deployments with `fleet` in one process: refused options, a damaged shared state, the registry going away.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createDeployment,
  createLocalRegistry,
  createMlflowRegistry,
  type Deployment,
  type SharedStateStore,
} from 'modelship';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleetDocument } from '../../src/routing/fleet/fleet-document.js';
import { deploymentRegistry } from '../helpers/deployments.js';
import { rejection } from '../helpers/errors.js';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { until } from '../helpers/wait.js';
import { MlflowTestServer } from '../servers/mlflow/server.js';

const HOSTILE_KEYS: unknown[] = ['', '../etc', '.hidden', 'a/b', 'a\\b', 'x'.repeat(129), 'a\u0000b', 42, null, '..'];

function describeStore(label: string, make: () => Promise<{ store: SharedStateStore; stop?: () => Promise<void> }>) {
  describe(`${label} sharedState`, () => {
    let store: SharedStateStore;
    let stop: (() => Promise<void>) | undefined;
    beforeAll(async () => ({ store, stop } = await make()));
    afterAll(() => stop?.());

    it('compares and sets: creates once, then writes only from the etag it read', async () => {
      expect(await store.read('cas')).toBeUndefined();
      const first = await store.write('cas', '{"n":1}', null);
      expect(first.written).toBe(true);
      expect(await store.write('cas', '{"n":"again"}', null)).toEqual({ written: false, reason: 'conflict' });
      const etag = (first as { etag: string }).etag;
      expect(await store.read('cas')).toEqual({ etag, document: '{"n":1}' });
      const second = await store.write('cas', '{"n":2}', etag);
      expect(second.written).toBe(true);
      expect((second as { etag: string }).etag).not.toBe(etag);
      expect(await store.write('cas', '{"n":"stale"}', etag)).toEqual({ written: false, reason: 'conflict' });
      expect((await store.read('cas'))?.document).toBe('{"n":2}');
    });

    it('lets exactly one of many writers racing from the same read win', async () => {
      const base = await store.write('race', '0', null);
      const etag = (base as { etag: string }).etag;
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.write('race', String(i + 1), etag)));
      expect(results.filter((r) => r.written)).toHaveLength(1);
      const winner = results.findIndex((r) => r.written);
      expect((await store.read('race'))?.document).toBe(String(winner + 1));
    });

    it('refuses keys that are not deployment names with INVALID_ARGUMENT, writing nothing', async () => {
      for (const key of HOSTILE_KEYS) {
        expect((await rejection(store.write(key as string, '{}', null))).code).toBe('INVALID_ARGUMENT');
        expect((await rejection(store.read(key as string))).code).toBe('INVALID_ARGUMENT');
      }
    });
  });
}

describeStore('the local registry', async () => ({
  store: createLocalRegistry({ root: await tempDir() }).sharedState,
}));
describeStore('the MLflow registry', async () => {
  const server = new MlflowTestServer();
  await server.start();
  const registry = createMlflowRegistry({ trackingUri: server.url, cacheDir: await tempDir() });
  return { store: registry.sharedState, stop: () => server.stop() };
});

describe('damaged shared state in MLflow', () => {
  it('is FLEET_STATE_INVALID on read, and a write that knows nothing is stored replaces it', async () => {
    const server = new MlflowTestServer();
    await server.start();
    try {
      const { sharedState } = createMlflowRegistry({ trackingUri: server.url, cacheDir: await tempDir() });
      expect((await sharedState.write('damaged', '{}', null)).written).toBe(true);
      server.models.get('damaged.modelship-fleet')!.tags.set('modelship.fleet.state', '{"etag": 1');
      const error = await rejection(sharedState.read('damaged'));
      expect(error.code).toBe('FLEET_STATE_INVALID');
      expect(error.message).not.toContain(server.url);
      expect((await sharedState.write('damaged', '{"fixed":true}', 'some-etag')).written).toBe(false);
      expect((await sharedState.write('damaged', '{"fixed":true}', null)).written).toBe(true);
      expect((await sharedState.read('damaged'))?.document).toBe('{"fixed":true}');
      // The lock is released after every write: no lock model is left behind.
      expect(server.models.has('damaged.modelship-fleet.lock')).toBe(false);
    } finally {
      await server.stop();
    }
  });
});

describe('the fleet document', () => {
  it('is FLEET_STATE_INVALID for anything modelship did not write, naming no content', () => {
    const good = { format: 'modelship.fleet/v1', revision: 1, stable: { version: '1', ref: 'mnist/1' } };
    expect(parseFleetDocument(JSON.stringify(good), 'mnist').stable.version).toBe('1');
    const bad = [
      'not json',
      '{}',
      JSON.stringify({ ...good, format: 'other' }),
      JSON.stringify({ ...good, canary: { version: '2', ref: 'mnist/2', weight: 7 } }),
      JSON.stringify({ ...good, revision: -1 }),
      JSON.stringify({ ...good, extra: true }),
      '{"__proto__":{"polluted":true},"format":"modelship.fleet/v1"}',
      JSON.stringify({ ...good, stable: { version: 'x'.repeat(100), ref: 'mnist/1' } }),
    ];
    for (const text of bad) {
      const error = (() => {
        try {
          parseFleetDocument(text, 'mnist');
        } catch (e) {
          return e as { code: string; message: string };
        }
      })();
      expect(error?.code).toBe('FLEET_STATE_INVALID');
      expect(error?.message).not.toContain('polluted');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('a deployment with fleet', () => {
  const modelOptions = { workers: 1, warmup: false };

  it('is INVALID_OPTIONS without a registry that shares state, or with a file as stable', async () => {
    const registry = await deploymentRegistry();
    const { sharedState: _, ...withoutState } = registry;
    const file = join(registry.root, 'mnist', '1', 'model.onnx');
    for (const options of [
      { name: 'f', registry: withoutState, stable: 'mnist/1', fleet: true, modelOptions },
      { name: 'f', stable: file, fleet: true, modelOptions },
      { name: 'f', registry, stable: 'mnist/1', fleet: { intervalMs: 0 }, modelOptions },
      { name: 'f', registry, stable: 'mnist/1', fleet: { replica: '' }, modelOptions },
    ]) {
      expect((await rejection(createDeployment(options as never))).code).toBe('INVALID_OPTIONS');
    }
  });

  it('shares nothing of a shadow, even one of stable’s version, and two instances agree on a weight', async () => {
    const registry = await deploymentRegistry();
    const options = {
      name: 'shadowed',
      registry,
      stable: 'mnist/1',
      canary: { ref: 'mnist/2', weight: 0.1 },
      shadow: { ref: 'mnist/1' },
      fleet: { intervalMs: 20 },
      modelOptions,
    };
    const a = await createDeployment(options);
    const b = await createDeployment(options);
    try {
      await a.setWeight(0.4);
      await until(() => b.status().canary?.weight === 0.4, 'b applying a’s weight');
      expect(b.status().shadow?.version).toBe('1');
      const entry = await registry.sharedState.read('shadowed');
      expect(JSON.parse(entry!.document)).not.toHaveProperty('shadow');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('does not start on a damaged shared state, and says what to do', async () => {
    const registry = await deploymentRegistry();
    await mkdir(join(registry.root, '.modelship', 'state'), { recursive: true });
    await writeFile(join(registry.root, '.modelship', 'state', 'damaged.json'), '{"etag":"x","document":"{oops"}');
    const error = await rejection(
      createDeployment({ name: 'damaged', registry, stable: 'mnist/1', fleet: true, modelOptions }),
    );
    expect(error.code).toBe('FLEET_STATE_INVALID');
    expect(error.message).toMatch(/Delete it/);
    expect(error.message).not.toContain(registry.root);
  });

  it('keeps serving its last state while MLflow is down, and applies what changed once it is back', async () => {
    const server = new MlflowTestServer();
    await server.start();
    const registry = createMlflowRegistry({ trackingUri: server.url, cacheDir: await tempDir(), retries: 0 });
    await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, aliases: ['production'] });
    await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx });
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (m: string) => void warnings.push(m) };
    const options = {
      name: 'outage',
      registry,
      stable: 'models:/mnist/1',
      canary: { ref: 'models:/mnist/2', weight: 0.5 },
      fleet: { intervalMs: 20 },
      modelOptions,
    };
    const replicas: Deployment[] = [
      await createDeployment({ ...options, logger }),
      await createDeployment({ ...options, logger: { ...logger, warn: () => undefined } }),
    ];
    try {
      const [a, b] = replicas as [Deployment, Deployment];
      await server.stop();
      await until(() => warnings.some((w) => /fleet state could not be read/.test(w)), 'a warning from the poll');
      expect(warnings.join('\n')).not.toContain(server.url);
      const input = { pixels: [Array.from({ length: 784 }, () => 0)] };
      expect((await a.predict(input)).version).toMatch(/^[12]$/);
      expect((await rejection(b.setWeight(0))).code).toBe('REGISTRY_UNAVAILABLE');
      expect(a.status().canary?.weight).toBe(0.5);
      await server.start();
      await b.setWeight(0.2);
      await until(() => a.status().canary?.weight === 0.2, 'a applying b’s weight');
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
      await server.stop();
    }
  });
});
