/**
 * gs:// URLs as plain loadModel references, against the Cloud Storage test server: objects written and read back by
 * the official @google-cloud/storage client (its uploads and its own md5/crc32c validation pass against the server),
 * then loaded by modelship — itself on @google-cloud/storage — with ADC from GOOGLE_APPLICATION_CREDENTIALS and the
 * endpoint from STORAGE_EMULATOR_HOST. Failure cases in detail: gcs-sdk.test.ts.
 */
import { createHash } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, silentLogger } from 'modelship';
import { ModelshipError } from '../../src/errors/index.js';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { startVertexServer, type VertexTestServer } from '../servers/vertex/server.js';

const saved = { ...process.env };

/** The few AuthClient methods @google-cloud/storage calls, answering with a ready access token. */
function staticTokenClient(token: string): never {
  return {
    getRequestHeaders: () => Promise.resolve({ Authorization: `Bearer ${token}` }),
    getAccessToken: () => Promise.resolve({ token }),
    getCredentials: () => Promise.resolve({}),
    getProjectId: () => Promise.resolve('modelship-test'),
  } as never;
}

describe('gs:// model URLs', () => {
  let server: VertexTestServer;
  let dir: string;
  let storage: Storage;
  beforeAll(async () => {
    server = await startVertexServer();
    dir = await tempDir();
    const keyPath = join(dir, 'key.json');
    await writeFile(keyPath, JSON.stringify(server.account.keyFile));
    process.env.GOOGLE_APPLICATION_CREDENTIALS = keyPath;
    // The SDK would fetch an OAuth token from oauth2.googleapis.com for a key file; give it a ready token instead.
    // (@google-cloud/storage 7 bundles google-auth-library 9, which reads headers as a plain object.)
    const authClient = staticTokenClient('ya29.sdk-test-token');
    server.vertex.tokens.add('ya29.sdk-test-token');
    storage = new Storage({
      apiEndpoint: server.url,
      projectId: server.vertex.project,
      authClient,
      useAuthWithCustomEndpoint: true,
    });
    // Set after the SDK is built: its Node client reads STORAGE_EMULATOR_HOST as the full API base, the Go and Python
    // clients (and modelship) as the host.
    process.env.STORAGE_EMULATOR_HOST = server.url;
  });
  afterAll(async () => {
    process.env = saved;
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('the official client uploads, reads metadata and downloads with its own hash validation', async () => {
    const file = storage.bucket('models').file('sdk/check.bin');
    await file.save(Buffer.from('written by @google-cloud/storage'), { resumable: false, validation: 'md5' });
    const [meta] = await file.getMetadata();
    expect(meta).toMatchObject({
      size: '32',
      md5Hash: createHash('md5').update('written by @google-cloud/storage').digest('base64'),
    });
    const [bytes] = await file.download({ validation: 'crc32c' });
    expect(bytes.toString()).toBe('written by @google-cloud/storage');
    const [files] = await storage.bucket('models').getFiles({ prefix: 'sdk/' });
    expect(files.map((f) => f.name)).toEqual(['sdk/check.bin']);
  });

  it('loads gs://bucket/object with loadModel, pinned or not, and refuses a wrong pin or a corrupted transfer', async () => {
    const onnx = Buffer.from(tinyMnist().onnx);
    await storage.bucket('models').file('mnist/model.onnx').save(onnx, { resumable: false });
    const sha = createHash('sha256').update(onnx).digest('hex');
    const cacheDir = join(dir, 'cache');
    const model = await loadModel(`gs://models/mnist/model.onnx#sha256=${sha}`, {
      cacheDir,
      workers: 1,
      logger: silentLogger,
    });
    try {
      expect(model.sha256).toBe(sha);
    } finally {
      await model.close();
    }
    const wrong = await loadModel(`gs://models/mnist/model.onnx#sha256=${'0'.repeat(64)}`, {
      cacheDir: join(dir, 'c2'),
      logger: silentLogger,
    }).catch((e: unknown) => e);
    expect(ModelshipError.hasCode(wrong, 'INTEGRITY_MISMATCH')).toBe(true);
    // A transfer that does not match the object's md5Hash is discarded.
    const obj = server.gcs.buckets.get('models')?.get('mnist/model.onnx') as { md5Hash?: string };
    obj.md5Hash = createHash('md5').update('not it').digest('base64');
    const bad = await loadModel('gs://models/mnist/model.onnx', {
      cacheDir: join(dir, 'c3'),
      logger: silentLogger,
    }).catch((e: unknown) => e);
    expect(ModelshipError.hasCode(bad, 'INTEGRITY_MISMATCH')).toBe(true);
    const missing = await loadModel('gs://models/nope.onnx', { cacheDir: join(dir, 'c3'), logger: silentLogger }).catch(
      (e: unknown) => e,
    );
    expect(ModelshipError.hasCode(missing, 'MODEL_NOT_FOUND')).toBe(true);
    // Cloud Storage down: the last download of the URL is served from the cache, with a warning.
    obj.md5Hash = createHash('md5').update(onnx).digest('base64');
    const warnings: string[] = [];
    const onWarning = (w: { code: string }): void => void warnings.push(w.code);
    await (
      await loadModel('gs://models/mnist/model.onnx', { cacheDir, workers: 1, logger: silentLogger, onWarning })
    ).close();
    await server.stop();
    try {
      const offline = await loadModel('gs://models/mnist/model.onnx', {
        cacheDir,
        workers: 1,
        logger: silentLogger,
        onWarning,
      });
      expect(offline.sha256).toBe(sha);
      await offline.close();
      expect(warnings).toEqual(['REGISTRY_OFFLINE']);
    } finally {
      await server.start();
    }
    for (const ref of ['gs://models', 'gs://models/'])
      expect(ModelshipError.hasCode(await loadModel(ref).catch((e: unknown) => e), 'INVALID_REF'), ref).toBe(true);
  });
});
