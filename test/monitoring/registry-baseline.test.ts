/**
 * `publish({ baseline })` stores the drift baseline with the version and `loadModel(ref, { monitoring })` picks it
 * up, with a real MNIST baseline of 200 kB of JSON: the local registry (in meta.json), MLflow (an artifact
 * `modelship-baseline.json` beside the model, through the artifact proxy of the MLflow test server, a version tag
 * pointing at it), W&B (a second file of the artifact, on the W&B test server) and SageMaker (an S3 object on s3rver
 * beside model.tar.gz, named by the package's customer metadata). A damaged stored baseline fails the load with
 * INVALID_BASELINE and the model still loads without monitoring.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import S3rver from 's3rver';
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
import { createSageMakerState } from '../servers/sagemaker/handler.js';
import { startSageMakerServer, type SageMakerTestServer } from '../servers/sagemaker/server.js';
import { createWandbRegistry } from '../../src/registries/wandb/index.js';
import { createSageMakerRegistry } from '../../src/registries/sagemaker/index.js';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
let baseline: Baseline;
let mlflow: MlflowTestServer;
let wandb: WandbTestServer;
let sagemaker: SageMakerTestServer;
let s3rver: S3rver;
let s3dir: string;
let s3endpoint: string;
let s3: S3Client;

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
  sagemaker = await startSageMakerServer(createSageMakerState(credentials.accessKeyId));
  s3dir = await tempDir();
  s3rver = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: s3dir,
    configureBuckets: [{ name: 'models', configs: [] }],
  });
  s3endpoint = `http://127.0.0.1:${(await s3rver.run()).port}`;
  s3 = new S3Client({ region: 'us-east-1', endpoint: s3endpoint, forcePathStyle: true, credentials });
});
afterAll(async () => {
  s3.destroy();
  await mlflow.stop();
  await wandb.close();
  await sagemaker.close();
  await s3rver.close();
  await rm(s3dir, { recursive: true, force: true });
});

async function loadsWithBaseline(registry: RegistryAdapter, ref: string): Promise<void> {
  const model = await loadModel(ref, { registry, workers: 1, logger: silentLogger, monitoring: {} });
  try {
    expect(model.monitoring?.baseline).toEqual(baseline);
    // The baseline travels out of band: the model's metadata does not show it.
    expect(Object.keys(model.metadata)).not.toContain('modelship.baseline');
  } finally {
    await model.close();
  }
}

async function refusedThenPlain(registry: RegistryAdapter, ref: string): Promise<void> {
  const load = loadModel(ref, { registry, workers: 1, logger: silentLogger, monitoring: {} });
  await expect(load).rejects.toMatchObject({ code: 'INVALID_BASELINE' });
  const plain = await loadModel(ref, { registry, workers: 1, logger: silentLogger });
  expect(plain.monitoring).toBeUndefined();
  await plain.close();
}

const mlflowRegistry = async (): Promise<RegistryAdapter> =>
  createMlflowRegistry({ trackingUri: mlflow.url, cacheDir: await tempDir(), retries: 1 });

describe('publish({ baseline }) and loadModel({ monitoring })', () => {
  it('round-trips through the local registry', async () => {
    const registry = createLocalRegistry({ root: await tempDir() });
    await registry.publish!({ name: 'mnist', bytes: tinyMnist().onnx, aliases: ['production'], baseline });
    await loadsWithBaseline(registry, 'mnist@production');
  });

  it('round-trips through MLflow as the artifact modelship-baseline.json beside the model', async () => {
    const registry = await mlflowRegistry();
    await registry.publish!({ name: 'mnist', bytes: tinyMnist().onnx, aliases: ['production'], baseline });
    // The tag only points at the artifact; the artifact proxy serves the baseline itself.
    const res = await fetch(`${mlflow.url}/api/2.0/mlflow/model-versions/get?name=mnist&version=1`);
    const { model_version: mv } = (await res.json()) as { model_version: { tags: { key: string; value: string }[] } };
    const tag = mv.tags.find((t) => t.key === 'modelship.baseline')!;
    const pointer = JSON.parse(tag.value) as { file: string; sha256: string };
    expect(pointer.file).toMatch(/^modelship\/mnist\/[0-9a-f]{64}\/baseline-[0-9a-f]{12}\/modelship-baseline\.json$/);
    const stored = await fetch(`${mlflow.url}/api/2.0/mlflow-artifacts/artifacts/${pointer.file}`);
    expect(JSON.parse(await stored.text())).toEqual(baseline);
    await loadsWithBaseline(registry, 'mnist@production');
    // A second version of the same file with another baseline keeps each version's own.
    const other = { ...baseline, rows: baseline.rows + 1 };
    await registry.publish!({ name: 'mnist', bytes: tinyMnist().onnx, aliases: ['next'], baseline: other });
    const next = await loadModel('mnist@next', { registry, workers: 1, logger: silentLogger, monitoring: {} });
    expect(next.monitoring?.baseline).toEqual(other);
    await next.close();
    await loadsWithBaseline(await mlflowRegistry(), 'mnist/1');
  });

  it('refuses an MLflow baseline artifact replaced after publishing (sha256 in the tag)', async () => {
    const registry = await mlflowRegistry();
    await registry.publish!({ name: 'damaged', bytes: tinyMnist().onnx, baseline });
    const res = await fetch(`${mlflow.url}/api/2.0/mlflow/model-versions/get?name=damaged&version=1`);
    const { model_version: mv } = (await res.json()) as { model_version: { tags: { key: string; value: string }[] } };
    const { file } = JSON.parse(mv.tags.find((t) => t.key === 'modelship.baseline')!.value) as { file: string };
    const put = await fetch(`${mlflow.url}/api/2.0/mlflow-artifacts/artifacts/${file}`, {
      method: 'PUT',
      body: JSON.stringify({ ...baseline, rows: 1, numeric: [] }),
    });
    expect(put.ok).toBe(true);
    await refusedThenPlain(registry, 'damaged/1');
  });

  it('round-trips through Weights & Biases as a file of the artifact', async () => {
    const registry = createWandbRegistry({
      baseUrl: wandb.url,
      apiKey: wandb.state.apiKey,
      entity: 'acme',
      project: 'vision',
      cacheDir: await tempDir(),
    });
    await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, aliases: ['production'], baseline });
    // Two files in the artifact; its metadata only points at the baseline's (with its sha256).
    const stored = wandb.state.artifacts.artifacts.at(-1)!;
    expect([...stored.files.keys()].sort()).toEqual(['model.onnx', 'modelship-baseline.json']);
    const key = stored.files.get('modelship-baseline.json')!.key;
    expect(JSON.parse(wandb.state.artifacts.blobs.get(key)!.toString('utf8'))).toEqual(baseline);
    const pointer = (JSON.parse(stored.metadata) as Record<string, { file: string; sha256: string }>)[
      'modelship.baseline'
    ]!;
    expect(pointer).toEqual({ file: 'modelship-baseline.json', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    await loadsWithBaseline(registry, 'mnist:production');
  });

  it('round-trips through SageMaker as an S3 object beside model.tar.gz, and refuses it replaced', async () => {
    const registry = createSageMakerRegistry({
      endpoint: sagemaker.url,
      region: 'us-east-1',
      credentials,
      s3: { endpoint: s3endpoint, forcePathStyle: true },
      bucket: 'models',
      image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/onnx:latest',
      cacheDir: await tempDir(),
      retries: 1,
    });
    await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, baseline, approvalStatus: 'Approved' });
    const pkg = sagemaker.state.packages.at(-1)!;
    const pointer = JSON.parse(pkg.CustomerMetadataProperties['modelship:baseline']!) as { file: string };
    expect(pointer.file).toBe('modelship-baseline.json');
    const spec = pkg.InferenceSpecification as { Containers: { ModelDataUrl: string }[] };
    const archive = spec.Containers[0]!.ModelDataUrl;
    const key = archive.replace('s3://models/', '').replace(/model\.tar\.gz$/, 'modelship-baseline.json');
    const object = await s3.send(new GetObjectCommand({ Bucket: 'models', Key: key }));
    expect(JSON.parse(await object.Body!.transformToString())).toEqual(baseline);
    await loadsWithBaseline(registry, 'sagemaker:mnist/1');

    await s3.send(new PutObjectCommand({ Bucket: 'models', Key: key, Body: '{"format":"no"}' }));
    // A fresh registry: the one above keeps what it parsed (per sha256) for its watches.
    const fresh = createSageMakerRegistry({
      endpoint: sagemaker.url,
      region: 'us-east-1',
      credentials,
      s3: { endpoint: s3endpoint, forcePathStyle: true },
      cacheDir: await tempDir(),
      retries: 1,
    });
    await refusedThenPlain(fresh, 'sagemaker:mnist/1');
  });

  it('refuses a damaged baseline in the local registry with INVALID_BASELINE, and loads without monitoring', async () => {
    const root = await tempDir();
    const registry = createLocalRegistry({ root });
    await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, baseline });
    const meta = join(root, 'mnist', '1', 'meta.json');
    const stored = JSON.parse(await readFile(meta, 'utf8')) as { metadata: Record<string, { numeric: unknown[] }> };
    stored.metadata['modelship.baseline']!.numeric.pop();
    await writeFile(meta, JSON.stringify(stored));
    await refusedThenPlain(registry, 'mnist/1');
  });
});
