import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, silentLogger } from 'modelship';
import { createLocalRegistry } from '../../../src/registries/local/index.js';
import { createHttpRegistry, writeHttpRegistryIndex } from '../../../src/registries/http/index.js';
import { addOneModel, tempDir } from '../../helpers/models.js';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

// s3rver knows this one key pair; it refuses other access key ids (it does not check the secret).
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('s3:// sources against s3rver', () => {
  let s3rver: S3rver;
  let endpoint: string;
  let client: S3Client;
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir();
    s3rver = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: dir,
      configureBuckets: [{ name: 'models', configs: [] }],
    });
    const { port } = await s3rver.run();
    endpoint = `http://127.0.0.1:${port}`;
    client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials });
  });
  afterAll(async () => {
    client?.destroy();
    await s3rver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads s3://bucket/key through loadModel, verified and cached', async () => {
    const bytes = addOneModel();
    await client.send(new PutObjectCommand({ Bucket: 'models', Key: 'adder/model.onnx', Body: bytes }));
    const cacheDir = await tempDir();
    const s3 = { endpoint, forcePathStyle: true, credentials };
    const model = await loadModel(`s3://models/adder/model.onnx#sha256=${sha(bytes)}`, {
      cacheDir,
      s3,
      logger: silentLogger,
    });
    expect((await model.predict([[0, 0, 0, 0]])).y?.toArray()).toEqual([[1, 1, 1, 1]]);
    await model.close();
    const missing = await loadModel('s3://models/nope.onnx', { cacheDir, s3, logger: silentLogger }).catch(
      (e: unknown) => e,
    );
    expect((missing as { code?: string }).code).toBe('MODEL_NOT_FOUND');
    const denied = await loadModel('s3://models/adder/model.onnx', {
      cacheDir,
      s3: { ...s3, credentials: { accessKeyId: 'UNKNOWN', secretAccessKey: 'S3RVER' } },
      logger: silentLogger,
    }).catch((e: unknown) => e);
    expect((denied as { code?: string }).code).toBe('REGISTRY_AUTH_FAILED');
  });

  it('object keys are literal, as the AWS CLI writes them: a lone % and spaces load, no URIError', async () => {
    const bytes = addOneModel();
    await client.send(new PutObjectCommand({ Bucket: 'models', Key: 'odd/100% sure é.onnx', Body: bytes }));
    const cacheDir = await tempDir();
    const s3 = { endpoint, forcePathStyle: true, credentials };
    const model = await loadModel('s3://models/odd/100% sure é.onnx', { cacheDir, s3, logger: silentLogger });
    expect((await model.predict([[1, 1, 1, 1]])).y?.toArray()).toEqual([[2, 2, 2, 2]]);
    await model.close();
  });

  it('serves an HTTP registry from a bucket (s3:// baseUrl)', async () => {
    const root = await tempDir();
    const local = createLocalRegistry({ root });
    await local.publish({ name: 'adder', bytes: addOneModel(), aliases: ['production'] });
    await writeHttpRegistryIndex({ root });
    const walk = async (d: string): Promise<string[]> =>
      (await readdir(d, { withFileTypes: true }))
        .flatMap((e) => (e.isDirectory() ? [] : [join(d, e.name)]))
        .concat(
          ...(await Promise.all(
            (await readdir(d, { withFileTypes: true }))
              .filter((e) => e.isDirectory())
              .map((e) => walk(join(d, e.name))),
          )),
        );
    for (const file of await walk(root)) {
      await client.send(
        new PutObjectCommand({ Bucket: 'models', Key: `registry/${relative(root, file)}`, Body: await readFile(file) }),
      );
    }
    const registry = createHttpRegistry({
      baseUrl: 's3://models/registry',
      cacheDir: await tempDir(),
      s3: { endpoint, forcePathStyle: true, credentials },
    });
    const model = await loadModel('adder@production', { registry, logger: silentLogger });
    expect([model.version, model.sha256]).toEqual(['1', sha(addOneModel())]);
    await model.close();
  });
});
