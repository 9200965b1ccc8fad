import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createHttpRegistry, writeHttpRegistryIndex } from '../../src/registries/http/index.js';
import { createLocalRegistry } from '../../src/registries/local/index.js';
import { createMlflowRegistry } from '../../src/registries/mlflow/index.js';
import type { RegistryWarning } from '../../src/spec/registry.js';
import { testRegistry } from '../contract/registry.js';
import { tempDir } from '../helpers/models.js';
import { FileTestServer } from '../servers/http/file-server.js';
import { MlflowTestServer } from '../servers/mlflow/server.js';
import { createWandbRegistry } from '../../src/registries/wandb/index.js';
import { startWandbServer } from '../servers/wandb/server.js';
import { createSageMakerRegistry } from '../../src/registries/sagemaker/index.js';
import { createSageMakerState } from '../servers/sagemaker/handler.js';
import { startSageMakerServer } from '../servers/sagemaker/server.js';
import S3rver from 's3rver';

// Fast retries: the outage tests wait out the retry budget against a closed port.
const fast = { retries: 1, retryDelayMs: 1, maxRetryDelayMs: 2, timeoutMs: 10_000 };

testRegistry('local', async () => {
  const root = await tempDir();
  const registry = createLocalRegistry({ root });
  return {
    registry,
    seed: async (name, bytes, aliases, metadata) =>
      (await registry.publish({ name, bytes, aliases: aliases ?? [], metadata: metadata ?? {} })).version,
    moveAlias: (name, alias, version) => registry.setAlias(name, alias, version),
    close: () => rm(root, { recursive: true, force: true }),
  };
});

testRegistry('http', async () => {
  const root = await tempDir();
  const cacheDir = await tempDir();
  const local = createLocalRegistry({ root });
  const server = new FileTestServer(root);
  await server.start();
  const open = (onWarning?: (w: RegistryWarning) => void) =>
    createHttpRegistry({ baseUrl: server.url, cacheDir, ...fast, ...(onWarning ? { onWarning } : {}) });
  return {
    registry: open(),
    seed: async (name, bytes, aliases, metadata) => {
      const { version } = await local.publish({ name, bytes, aliases: aliases ?? [], metadata: metadata ?? {} });
      await writeHttpRegistryIndex({ root });
      return version;
    },
    moveAlias: async (name, alias, version) => {
      await local.setAlias(name, alias, version);
      await writeHttpRegistryIndex({ root });
    },
    outage: {
      stop: () => server.stop(),
      start: async () => void (await server.start()),
      reopen: (onWarning) => open(onWarning),
    },
    close: async () => {
      await server.stop();
      await Promise.all([root, cacheDir].map((d) => rm(d, { recursive: true, force: true })));
    },
  };
});

testRegistry('mlflow', async () => {
  const server = new MlflowTestServer();
  const trackingUri = await server.start();
  const cacheDir = join(await tempDir(), 'cache');
  const open = (onWarning?: (w: RegistryWarning) => void) =>
    createMlflowRegistry({ trackingUri, cacheDir, ...fast, ...(onWarning ? { onWarning } : {}) });
  const registry = open();
  return {
    registry,
    ref: (name, selector) => `models:/${name}${selector}`,
    seed: async (name, bytes, aliases, metadata) =>
      (await registry.publish({ name, bytes, aliases: aliases ?? [], metadata: metadata ?? {} })).version,
    moveAlias: (name, alias, version) => registry.setAlias(name, alias, version),
    outage: {
      stop: () => server.stop(),
      start: async () => void (await server.start()),
      reopen: (onWarning) => open(onWarning),
    },
    close: () => server.stop(),
  };
});

testRegistry('wandb', async () => {
  const server = await startWandbServer();
  const cacheDir = join(await tempDir(), 'cache');
  const open = (onWarning?: (w: RegistryWarning) => void) =>
    createWandbRegistry({
      baseUrl: server.url,
      apiKey: server.state.apiKey,
      entity: 'acme',
      project: 'vision',
      cacheDir,
      ...fast,
      ...(onWarning ? { onWarning } : {}),
    });
  const registry = open();
  return {
    registry,
    // W&B numbers versions from v0; "/n" in the suite is the n-th version.
    version: (n) => `v${n - 1}`,
    ref: (name, selector) => {
      const base = `wandb:acme/vision/${name}`;
      if (selector === '') return base;
      if (selector.startsWith('@')) return `${base}:${selector.slice(1)}`;
      const n = selector.slice(1);
      return n === 'latest' ? `${base}:latest` : `${base}:v${Number(n) - 1}`;
    },
    seed: async (name, bytes, aliases, metadata) =>
      (await registry.publish({ name, bytes, aliases: aliases ?? [], metadata: metadata ?? {} })).version,
    moveAlias: (name, alias, version) => registry.setAlias(name, alias, version),
    outage: { stop: () => server.stop(), start: () => server.start(), reopen: (onWarning) => open(onWarning) },
    close: () => server.close(),
  };
});

testRegistry('sagemaker', async () => {
  // s3rver knows one key pair; the SageMaker test server is told to accept the same access key id.
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const server = await startSageMakerServer(createSageMakerState(credentials.accessKeyId));
  const s3dir = await tempDir();
  const s3rver = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: s3dir,
    configureBuckets: [{ name: 'models', configs: [] }],
  });
  const { port } = await s3rver.run();
  const cacheDir = join(await tempDir(), 'cache');
  const open = (onWarning?: (w: RegistryWarning) => void) =>
    createSageMakerRegistry({
      endpoint: server.url,
      region: 'us-east-1',
      credentials,
      s3: { endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true },
      bucket: 'models',
      image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/onnxruntime:latest',
      approvalStatus: 'Approved',
      cacheDir,
      ...fast,
      ...(onWarning ? { onWarning } : {}),
    });
  const registry = open();
  return {
    registry,
    ref: (name, selector) => `sagemaker:${name}${selector}`,
    seed: async (name, bytes, aliases, metadata) =>
      (await registry.publish({ name, bytes, aliases: aliases ?? [], metadata: metadata ?? {} })).version,
    moveAlias: (name, alias, version) => registry.setAlias(name, alias, version),
    outage: { stop: () => server.stop(), start: () => server.start(), reopen: (onWarning) => open(onWarning) },
    close: async () => {
      await server.close();
      await s3rver.close();
      await rm(s3dir, { recursive: true, force: true });
    },
  };
});
