/**
 * Two deployments with `fleet` on the SageMaker registry (the SageMaker test server, models in s3rver) agree on a
 * routing change made on one of them, through the model package group tags of src/registries/sagemaker/shared-state.ts.
 */
import { rm } from 'node:fs/promises';
import S3rver from 's3rver';
import { createDeployment } from 'modelship';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSageMakerRegistry } from '../../src/registries/sagemaker/index.js';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { until } from '../helpers/wait.js';
import { createSageMakerState } from '../servers/sagemaker/handler.js';
import { startSageMakerServer, type SageMakerTestServer } from '../servers/sagemaker/server.js';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

describe('a fleet on the SageMaker registry', () => {
  let server: SageMakerTestServer;
  let s3rver: S3rver;
  let s3dir: string;
  let s3endpoint: string;
  const open = async (): Promise<ReturnType<typeof createSageMakerRegistry>> =>
    createSageMakerRegistry({
      endpoint: server.url,
      region: 'us-east-1',
      credentials,
      s3: { endpoint: s3endpoint, forcePathStyle: true },
      bucket: 'models',
      image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/onnx:latest',
      cacheDir: await tempDir(),
      retries: 0,
    });

  beforeAll(async () => {
    server = await startSageMakerServer(createSageMakerState(credentials.accessKeyId));
    s3dir = await tempDir();
    s3rver = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: s3dir,
      configureBuckets: [{ name: 'models', configs: [] }],
    });
    s3endpoint = `http://127.0.0.1:${(await s3rver.run()).port}`;
  });
  afterAll(async () => {
    await server.close();
    await s3rver.close();
    await rm(s3dir, { recursive: true, force: true });
  });

  it('applies a weight set on one replica on the other, through the group tags', async () => {
    const publisher = await open();
    await publisher.publish({ name: 'fraud', bytes: tinyMnist().onnx });
    await publisher.publish({ name: 'fraud', bytes: tinyMnist().onnx });
    const options = {
      name: 'fraud-deployment',
      stable: 'fraud/1', // without sagemaker: (a fleet names versions <group>/<version>)
      canary: { ref: 'fraud/2', weight: 0.1 },
      fleet: { intervalMs: 20 },
      modelOptions: { workers: 1, warmup: false },
    };
    const registry = await open();
    const a = await createDeployment({ ...options, registry });
    const b = await createDeployment({ ...options, registry: await open() });
    try {
      await a.setWeight(0.4);
      await until(() => b.status().canary?.weight === 0.4, 'b applying a’s weight');
      expect(b.status().stable.version).toBe('1');
      const entry = await registry.sharedState.read('fraud-deployment');
      expect(entry?.document).toContain('0.4');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
