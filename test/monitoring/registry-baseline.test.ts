/**
 * `publish({ baseline })` stores the drift baseline with the version and `loadModel(ref, { monitoring })` picks it
 * up: the local registry (in meta.json), MLflow (version tags, against the MLflow test server) and W&B (the artifact's metadata, against the W&B test server), with a real
 * MNIST baseline of 200 kB of JSON. A damaged stored baseline fails the load with INVALID_BASELINE.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBaseline,
  createLocalRegistry,
  createMlflowRegistry,
  loadModel,
  silentLogger,
  type Baseline,
  type RegistryAdapter,
} from 'modelship';
import { IMAGE_SIZE, loadMnist } from '../../examples/shared/mnist-data.js';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { MlflowTestServer } from '../servers/mlflow/server.js';
import { startWandbServer, type WandbTestServer } from '../servers/wandb/server.js';
import { createWandbRegistry } from '../../src/registries/wandb/index.js';

let baseline: Baseline;
let mlflow: MlflowTestServer;
let wandb: WandbTestServer;

beforeAll(async () => {
  const plain = await loadModel(tinyMnist().onnx, { workers: 1, logger: silentLogger });
  const { train } = loadMnist({ seed: 1 });
  const pixels = {
    dtype: 'float32' as const,
    shape: [3000, IMAGE_SIZE],
    data: train.images.slice(0, 3000 * IMAGE_SIZE),
  };
  baseline = createBaseline(
    { inputs: { pixels }, outputs: await plain.predict({ pixels }) },
    { signature: plain.signature },
  );
  await plain.close();
  mlflow = new MlflowTestServer();
  await mlflow.start();
  wandb = await startWandbServer();
});
afterAll(async () => {
  await mlflow.stop();
  await wandb.close();
});

async function roundTrip(registry: RegistryAdapter): Promise<void> {
  await registry.publish!({ name: 'mnist', bytes: tinyMnist().onnx, aliases: ['production'], baseline });
  const model = await loadModel('mnist@production', { registry, workers: 1, logger: silentLogger, monitoring: {} });
  try {
    expect(model.monitoring?.baseline).toEqual(baseline);
    // The baseline travels out of band: the model's metadata does not show it.
    expect(Object.keys(model.metadata)).not.toContain('modelship.baseline');
  } finally {
    await model.close();
  }
}

describe('publish({ baseline }) and loadModel({ monitoring })', () => {
  it('round-trips through the local registry', async () => {
    await roundTrip(createLocalRegistry({ root: await tempDir() }));
  });

  it('round-trips through MLflow, split over version tags', async () => {
    expect(JSON.stringify(baseline).length).toBeGreaterThan(100_000);
    await roundTrip(createMlflowRegistry({ trackingUri: mlflow.url, cacheDir: await tempDir(), retries: 1 }));
  });

  it('round-trips through Weights & Biases, in the artifact metadata', async () => {
    const registry = createWandbRegistry({
      baseUrl: wandb.url,
      apiKey: wandb.state.apiKey,
      entity: 'acme',
      project: 'vision',
      cacheDir: await tempDir(),
    });
    await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, aliases: ['production'], baseline });
    const model = await loadModel('mnist:production', { registry, workers: 1, logger: silentLogger, monitoring: {} });
    try {
      expect(model.monitoring?.baseline).toEqual(baseline);
      expect(Object.keys(model.metadata)).not.toContain('modelship.baseline');
    } finally {
      await model.close();
    }
  });

  it('refuses a damaged stored baseline with INVALID_BASELINE, and loads without monitoring as before', async () => {
    const root = await tempDir();
    const registry = createLocalRegistry({ root });
    await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, baseline });
    const meta = join(root, 'mnist', '1', 'meta.json');
    const stored = JSON.parse(await readFile(meta, 'utf8')) as { metadata: Record<string, { numeric: unknown[] }> };
    stored.metadata['modelship.baseline']!.numeric.pop();
    await writeFile(meta, JSON.stringify(stored));
    const load = loadModel('mnist/1', { registry, workers: 1, logger: silentLogger, monitoring: {} });
    await expect(load).rejects.toMatchObject({ code: 'INVALID_BASELINE' });
    const plain = await loadModel('mnist/1', { registry, workers: 1, logger: silentLogger });
    expect(plain.monitoring).toBeUndefined();
    await plain.close();
  });
});
