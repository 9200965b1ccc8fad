/**
 * Application Default Credentials as a user gets them, through google-auth-library: a service-account key file named
 * by GOOGLE_APPLICATION_CREDENTIALS (project from the key), and the metadata server (GCE_METADATA_HOST) on Google Cloud.
 * Own file: both read process-wide environment variables.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelshipError } from '../../src/errors/index.js';
import { createVertexRegistry } from '../../src/registries/vertex/index.js';
import { tempDir } from '../helpers/models.js';
import { startMetadataServer, type MetadataServer } from '../servers/vertex/metadata-server.js';
import { startVertexServer, type VertexTestServer } from '../servers/vertex/server.js';

const fast = { retries: 1, retryDelayMs: 1, maxRetryDelayMs: 2, timeoutMs: 10_000 };
const saved = { ...process.env };

describe('Vertex AI with Application Default Credentials', () => {
  let server: VertexTestServer;
  let metadata: MetadataServer;
  let dir: string;
  beforeAll(async () => {
    server = await startVertexServer();
    metadata = await startMetadataServer(server.vertex.project);
    dir = await tempDir();
    // Seed one model with explicit credentials.
    await createVertexRegistry({
      project: server.vertex.project,
      apiEndpoint: server.url,
      storageEndpoint: server.url,
      credentials: server.account.keyFile,
      bucket: 'models',
      image: 'us-docker.pkg.dev/acme/serving/onnxruntime:1.22',
      operationPollMs: 1,
      cacheDir: join(dir, 'cache'),
    }).publish({ name: 'adc', bytes: new TextEncoder().encode('adc model'), aliases: ['prod'] });
  });
  afterAll(async () => {
    process.env = saved;
    await server.close();
    await metadata.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a key file from GOOGLE_APPLICATION_CREDENTIALS, and the project from the key', async () => {
    const keyPath = join(dir, 'key.json');
    await writeFile(keyPath, JSON.stringify(server.account.keyFile));
    process.env.GOOGLE_APPLICATION_CREDENTIALS = keyPath;
    delete process.env.GOOGLE_CLOUD_PROJECT;
    delete process.env.GCLOUD_PROJECT;
    try {
      const registry = createVertexRegistry({
        apiEndpoint: server.url,
        storageEndpoint: server.url,
        cacheDir: join(dir, 'c1'),
        ...fast,
      });
      const resolved = await registry.resolve('vertex:adc@prod');
      expect(resolved).toMatchObject({ name: 'adc', version: '1' });
      expect(resolved.versionRef).toContain(`/locations/us-central1/models/adc@1`);
    } finally {
      delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
    }
  });

  it('gets a token from the metadata server when no key is configured', async () => {
    server.vertex.tokens.add(metadata.token);
    process.env.GCE_METADATA_HOST = `127.0.0.1:${metadata.port}`;
    process.env.HOME = dir; // no gcloud ADC file in the way
    process.env.GOOGLE_CLOUD_PROJECT = server.vertex.project;
    try {
      const registry = createVertexRegistry({
        apiEndpoint: server.url,
        storageEndpoint: server.url,
        cacheDir: join(dir, 'c2'),
        ...fast,
      });
      const resolved = await registry.resolve('vertex:adc');
      expect(resolved.version).toBe('1');
      const artifact = await registry.fetch(resolved);
      expect(artifact.kind).toBe('file');
      expect(metadata.tokenRequests).toBeGreaterThan(0);
      // The metadata server's token was revoked: REGISTRY_AUTH_FAILED, the token nowhere in the error.
      server.vertex.tokens.delete(metadata.token);
      const e = await createVertexRegistry({
        apiEndpoint: server.url,
        storageEndpoint: server.url,
        cacheDir: join(dir, 'c3'),
        ...fast,
      })
        .resolve('vertex:adc@1')
        .catch((x: unknown) => x);
      expect(ModelshipError.hasCode(e, 'REGISTRY_AUTH_FAILED')).toBe(true);
      expect(String((e as Error).message)).not.toContain(metadata.token);
    } finally {
      delete process.env.GCE_METADATA_HOST;
    }
  });
});
