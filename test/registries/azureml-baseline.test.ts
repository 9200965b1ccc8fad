/**
 * Azure ML `publish({ lineage, baseline })`, against the TLS ARM server and Azurite: the lineage is kept in the
 * version's immutable properties and read back by resolve and listVersions; a real MNIST drift baseline is a blob
 * `modelship-baseline.json` beside model.onnx (as SageMaker keeps it beside its archive), named with its sha256 by a
 * version property, and `loadModel(ref, { monitoring })` picks it up. A baseline replaced afterwards is refused
 * (INVALID_BASELINE) and the model still loads without monitoring.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBaseline, loadModel, silentLogger, type Baseline } from 'modelship';
import { IMAGE_SIZE, loadMnist } from '../../examples/shared/mnist-data.js';
import { createAzureMlRegistry, type AzureMlRegistry } from '../../src/registries/azureml/index.js';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { startAzureMl, type AzureMlFixture } from '../servers/azure/azureml-fixture.js';

const fast = { retries: 2, retryDelayMs: 1, maxRetryDelayMs: 2, timeoutMs: 10_000 };

describe('Azure ML publish({ lineage, baseline })', () => {
  let f: AzureMlFixture;
  let registry: AzureMlRegistry;
  let baseline: Baseline;

  beforeAll(async () => {
    f = await startAzureMl();
    registry = createAzureMlRegistry({ ...f.options, cacheDir: join(await tempDir(), 'cache'), ...fast });
    const plain = await loadModel(tinyMnist().onnx, { workers: 1, logger: silentLogger });
    const { train } = loadMnist({ seed: 1 });
    const pixels = {
      dtype: 'float32' as const,
      shape: [1000, IMAGE_SIZE],
      data: train.images.slice(0, 1000 * IMAGE_SIZE),
    };
    baseline = createBaseline(
      { inputs: { pixels }, outputs: await plain.predict({ pixels }) },
      { signature: plain.signature },
    );
    await plain.close();
  });
  afterAll(async () => {
    await f?.close();
  });

  it('keeps the lineage in the version properties; resolve and listVersions read it back; bad lineage uploads nothing', async () => {
    const lineage = {
      git: { commit: 'a'.repeat(40), dirty: false, branch: 'main' },
      datasets: [{ path: 'data/train.csv', sha256: 'b'.repeat(64), size: 12 }],
    };
    const published = await registry.publish({ name: 'lin', bytes: tinyMnist().onnx, aliases: ['prod'], lineage });
    expect(published.lineage).toEqual(lineage);
    expect((await registry.resolve('azureml:lin@prod')).lineage).toEqual(lineage);
    expect((await registry.listVersions('lin')).map((v) => v.lineage)).toEqual([lineage]);
    const stored = f.arm.state.scopes.get('workspaces/ml-ws')!.models.get('lin')!;
    const props = (stored.versions.get('1')!.properties as { properties: Record<string, string> }).properties;
    expect(JSON.parse(props['modelship.lineage']!)).toEqual(lineage);
    const blobsBefore = await countBlobs(f);
    await expect(
      registry.publish({ name: 'lin', bytes: tinyMnist().onnx, lineage: { git: { commit: 'nope' } } as never }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await countBlobs(f)).toBe(blobsBefore);
  });

  it('stores the baseline beside model.onnx and loadModel({ monitoring }) picks it up', async () => {
    const published = await registry.publish({
      name: 'mnist',
      bytes: tinyMnist().onnx,
      aliases: ['production'],
      baseline,
    });
    const names = await blobNames(f);
    const model = names.find((n) => n.endsWith('/model.onnx') && n.includes('/mnist/'))!;
    expect(names).toContain(model.replace(/model\.onnx$/, 'modelship-baseline.json'));
    // The baseline is not metadata: only the loaded model's monitoring has it.
    expect(Object.keys(published.metadata)).not.toContain('modelship.baseline');
    const loaded = await loadModel('azureml:mnist@production', {
      registry,
      workers: 1,
      logger: silentLogger,
      monitoring: {},
    });
    try {
      expect(loaded.monitoring?.baseline).toEqual(baseline);
      expect(Object.keys(loaded.metadata)).not.toContain('modelship.baseline');
    } finally {
      await loaded.close();
    }
  });

  it('refuses a baseline blob replaced after publishing, and the model still loads without monitoring', async () => {
    await registry.publish({ name: 'damaged', bytes: tinyMnist().onnx, baseline });
    const name = (await blobNames(f)).find((n) => n.includes('/damaged/') && n.endsWith('modelship-baseline.json'))!;
    const body = JSON.stringify({ ...baseline, rows: 1 });
    await f.blobs.getContainerClient(f.container).getBlockBlobClient(name).upload(body, Buffer.byteLength(body));
    const fresh = createAzureMlRegistry({ ...f.options, cacheDir: join(await tempDir(), 'cache'), ...fast });
    await expect(
      loadModel('azureml:damaged:1', { registry: fresh, workers: 1, logger: silentLogger, monitoring: {} }),
    ).rejects.toMatchObject({ code: 'INVALID_BASELINE' });
    const plain = await loadModel('azureml:damaged:1', { registry: fresh, workers: 1, logger: silentLogger });
    expect(plain.monitoring).toBeUndefined();
    await plain.close();
  });
});

async function blobNames(f: AzureMlFixture): Promise<string[]> {
  const names: string[] = [];
  for await (const b of f.blobs.getContainerClient(f.container).listBlobsFlat()) names.push(b.name);
  return names;
}

async function countBlobs(f: AzureMlFixture): Promise<number> {
  return (await blobNames(f)).length;
}
