import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentWith, loadModel, silentLogger, type DeploymentEvents } from 'modelship';
import { createDvcRegistry, type DvcRegistry } from '../../../src/registries/dvc/index.js';
import { digits } from '../../helpers/deployments.js';
import { tempDir, tinyMnist } from '../../helpers/models.js';
import { createDvcOrigin } from './repo.js';

let root: string;
let origin: { bare: string; work: string };
const open = (extra: Record<string, unknown> = {}): DvcRegistry =>
  createDvcRegistry({ repo: origin.bare, cacheDir: join(root, 'cache'), retries: 1, retryDelayMs: 1, ...extra });

beforeAll(async () => {
  root = await tempDir();
  origin = await createDvcOrigin(root, 'models', join(root, 'dvc-store'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('DVC registry: deployments', () => {
  it('hot-swaps a deployment when a stage moves', async () => {
    const registry = open({ watchIntervalMs: 10 });
    const { images, labels } = digits(20);
    await registry.publish({ name: 'swap', bytes: tinyMnist().onnx, aliases: ['prod'] });
    await registry.publish({ name: 'swap', bytes: tinyMnist().onnx });
    const d = await createDeploymentWith((ref) => loadModel(ref, { registry, workers: 1, logger: silentLogger }), {
      name: 'swap',
      registry,
      stable: 'dvc:swap#prod',
      watch: { intervalMs: 10 },
      validate: { inputs: images, expect: labels, minAccuracy: 0.8 },
      logger: silentLogger,
    });
    try {
      expect(d.version).toBe('v0.0.1');
      const switched = new Promise<DeploymentEvents['switch']>((resolve) => {
        const off = d.on('switch', (e) => {
          off();
          resolve(e);
        });
      });
      await registry.setAlias('swap', 'prod', 'v0.0.2');
      expect(await switched).toMatchObject({ from: 'v0.0.1', to: 'v0.0.2', reason: 'watch' });
      expect((await d.predict([images[0]!])).version).toBe('v0.0.2');
    } finally {
      await d.close();
    }
  });
});
