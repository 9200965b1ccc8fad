import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import S3rver from 's3rver';
import { createDvcRegistry } from '../../../src/registries/dvc/index.js';
import type { RegistryWarning } from '../../../src/spec/registry.js';
import { testRegistry } from '../../contract/registry.js';
import { tempDir } from '../../helpers/models.js';
import { startGitHttpServer } from '../../servers/git/git-http-server.js';
import { createDvcOrigin } from './repo.js';

const fast = { retries: 1, retryDelayMs: 1, maxRetryDelayMs: 2, timeoutMs: 10_000 };

// GTO versions: the suite's n-th version is v0.0.n (publish bumps the patch); its aliases are GTO stages.
const ref = (name: string, selector: string): string => {
  if (selector === '') return `dvc:${name}`;
  if (selector.startsWith('@')) return `dvc:${name}#${selector.slice(1)}`;
  const n = selector.slice(1);
  return n === 'latest' ? `dvc:${name}@latest` : `dvc:${name}@v0.0.${n}`;
};

testRegistry('dvc (local repository, local-directory remote)', async () => {
  const root = await tempDir();
  const { bare } = await createDvcOrigin(root, 'models', join(root, 'dvc-store'));
  const registry = createDvcRegistry({ repo: bare, cacheDir: join(root, 'cache'), ...fast });
  return {
    registry,
    ref,
    version: (n) => `v0.0.${n}`,
    seed: async (name, bytes, aliases, metadata) =>
      (await registry.publish({ name, bytes, aliases: aliases ?? [], metadata: metadata ?? {} })).version,
    moveAlias: (name, alias, version) => registry.setAlias(name, alias, version),
    close: () => rm(root, { recursive: true, force: true }),
  };
});

testRegistry('dvc (git over smart HTTP, S3 remote on s3rver)', async () => {
  const root = await tempDir();
  const s3rver = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: join(root, 's3'),
    configureBuckets: [{ name: 'models', configs: [] }],
  });
  const { port } = await s3rver.run();
  await createDvcOrigin(root, 'models', 's3://models/dvcstore', `http://127.0.0.1:${port}`);
  const server = await startGitHttpServer({ root });
  const open = (onWarning?: (w: RegistryWarning) => void) =>
    createDvcRegistry({
      repo: `${server.url}/models.git`,
      // No s3.endpoint: the endpoint is the one `dvc remote modify storage endpointurl` wrote in .dvc/config.
      s3: {
        region: 'us-east-1',
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      },
      cacheDir: join(root, 'cache'),
      ...fast,
      ...(onWarning ? { onWarning } : {}),
    });
  const registry = open();
  return {
    registry,
    ref,
    version: (n) => `v0.0.${n}`,
    seed: async (name, bytes, aliases, metadata) =>
      (await registry.publish({ name, bytes, aliases: aliases ?? [], metadata: metadata ?? {} })).version,
    moveAlias: (name, alias, version) => registry.setAlias(name, alias, version),
    outage: { stop: () => server.stop(), start: () => server.start(), reopen: (onWarning) => open(onWarning) },
    close: async () => {
      await server.close();
      await s3rver.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});
