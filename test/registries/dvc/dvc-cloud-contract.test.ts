/**
 * The registry contract suite on the DVC adapter with its remote on Azure Blob Storage (Azurite, `azure://` with the
 * connection string `dvc remote modify` writes) and on Google Cloud Storage (the GCS JSON API test server, `gs://`
 * with `credentialpath` and `endpointurl`).
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { createDvcRegistry } from '../../../src/registries/dvc/index.js';
import { testRegistry } from '../../contract/registry.js';
import { tempDir } from '../../helpers/models.js';
import { startAzurite } from '../../servers/azure/azurite.js';
import { startVertexServer } from '../../servers/vertex/server.js';
import { createDvcOrigin } from './repo.js';

const fast = { retries: 1, retryDelayMs: 1, maxRetryDelayMs: 2, timeoutMs: 10_000 };

// GTO versions: the suite's n-th version is v0.0.n (publish bumps the patch); its aliases are GTO stages.
const ref = (name: string, selector: string): string => {
  if (selector === '') return `dvc:${name}`;
  if (selector.startsWith('@')) return `dvc:${name}#${selector.slice(1)}`;
  const n = selector.slice(1);
  return n === 'latest' ? `dvc:${name}@latest` : `dvc:${name}@v0.0.${n}`;
};

testRegistry('dvc (Azure remote on Azurite)', async () => {
  const root = await tempDir();
  const azurite = await startAzurite();
  const credential = new StorageSharedKeyCredential(azurite.account, azurite.key);
  await new BlobServiceClient(azurite.blobEndpoint, credential).getContainerClient('dvc').create();
  const { bare } = await createDvcOrigin(root, 'models', 'azure://dvc/store', undefined, {
    account_name: azurite.account,
    connection_string: `DefaultEndpointsProtocol=http;AccountName=${azurite.account};AccountKey=${azurite.key};BlobEndpoint=${azurite.blobEndpoint};`,
  });
  const registry = createDvcRegistry({ repo: bare, cacheDir: join(root, 'cache'), ...fast });
  return {
    registry,
    ref,
    version: (n) => `v0.0.${n}`,
    seed: async (name, bytes, aliases, metadata) =>
      (await registry.publish({ name, bytes, aliases: aliases ?? [], metadata: metadata ?? {} })).version,
    moveAlias: (name, alias, version) => registry.setAlias(name, alias, version),
    close: async () => {
      await azurite.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
});

testRegistry('dvc (GCS remote on the Cloud Storage test server)', async () => {
  const root = await tempDir();
  const server = await startVertexServer();
  const keyPath = join(root, 'sa.json');
  await writeFile(keyPath, JSON.stringify(server.account.keyFile));
  const { bare } = await createDvcOrigin(root, 'models', 'gs://models/dvcstore', server.url, {
    credentialpath: keyPath,
  });
  const registry = createDvcRegistry({ repo: bare, cacheDir: join(root, 'cache'), ...fast });
  return {
    registry,
    ref,
    version: (n) => `v0.0.${n}`,
    seed: async (name, bytes, aliases, metadata) =>
      (await registry.publish({ name, bytes, aliases: aliases ?? [], metadata: metadata ?? {} })).version,
    moveAlias: (name, alias, version) => registry.setAlias(name, alias, version),
    close: async () => {
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});
