/**
 * DVC remotes on Azure Blob Storage (Azurite, the official emulator) and Google Cloud Storage (the GCS JSON API
 * test server): `.dvc/config` as `dvc remote add` / `dvc remote modify` write it (`azure://container/path` with
 * `account_name` and `connection_string`; `gs://bucket/path` with `projectname`, `credentialpath` and
 * `endpointurl`), objects at DVC's content addresses (DVC 3 `files/md5/xx/…`, DVC 2 `xx/…`), md5 checked.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, silentLogger } from 'modelship';
import { ModelshipError } from '../../../src/errors/index.js';
import { createDvcRegistry } from '../../../src/registries/dvc/index.js';
import { digits } from '../../helpers/deployments.js';
import { tempDir, tinyMnist } from '../../helpers/models.js';
import { startAzurite, type Azurite } from '../../servers/azure/azurite.js';
import { putObject } from '../../servers/vertex/gcs-handler.js';
import { startVertexServer, type VertexTestServer } from '../../servers/vertex/server.js';
import { createDvcOrigin, git, writeFiles } from './repo.js';

const fast = { retries: 2, retryDelayMs: 1, maxRetryDelayMs: 2, timeoutMs: 10_000 };
const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
const onnx = tinyMnist().onnx;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(ModelshipError.isInstance(error), String(error)).toBe(true);
    expect((error as Error).message).not.toMatch(/AccountKey|Eby8vdM02/);
    return (error as ModelshipError).code;
  }
  return 'resolved';
}

/** Loads `ref` with a fresh cache and checks the digit it predicts. */
async function loadsAndPredicts(registry: ReturnType<typeof createDvcRegistry>, ref: string): Promise<string> {
  const model = await loadModel(ref, { registry, workers: 1, logger: silentLogger });
  try {
    const { images, labels } = digits(1);
    const scores = Array.from((await model.predict(images)).probabilities!.data as Float32Array);
    expect(scores.indexOf(Math.max(...scores))).toBe(labels[0]);
    return model.version;
  } finally {
    await model.close();
  }
}

/** A DVC 2 era version, registered by hand as DVC and GTO do: a `.dvc` file without `hash`, then the GTO tags. */
async function registerDvc2(work: string, name: string, bytes: Uint8Array): Promise<void> {
  await git(work, 'pull', '--quiet', '--rebase', 'origin', 'main');
  await writeFiles(work, {
    [`models/${name}.onnx.dvc`]: `outs:\n- md5: ${md5(bytes)}\n  size: ${bytes.byteLength}\n  path: ${name}.onnx\n`,
    'artifacts.yaml': `${name}:\n  path: models/${name}.onnx\n  type: model\n`,
  });
  await git(work, 'add', `models/${name}.onnx.dvc`, 'artifacts.yaml');
  await git(work, 'commit', '--quiet', '-m', `Add ${name}`);
  await git(work, 'tag', '-a', `${name}@v1.0.0`, '-m', `Registering artifact ${name} version v1.0.0`);
  await git(work, 'push', '--quiet', 'origin', 'main', '--tags');
}

describe('DVC remote on Azure Blob Storage (Azurite)', () => {
  let azurite: Azurite;
  let root: string;
  let container: ContainerClient;
  let bare: string;
  let work: string;
  let n = 0;
  const open = (extra: Record<string, unknown> = {}) =>
    createDvcRegistry({ repo: bare, cacheDir: join(root, `cache-${++n}`), ...fast, ...extra });

  beforeAll(async () => {
    azurite = await startAzurite();
    root = await tempDir('modelship-dvc-azure-');
    const service = new BlobServiceClient(
      azurite.blobEndpoint,
      new StorageSharedKeyCredential(azurite.account, azurite.key),
    );
    container = service.getContainerClient('dvc');
    await container.create();
    // What `dvc remote modify storage connection_string …` writes for Azurite (the emulator's documented form).
    const connection = `DefaultEndpointsProtocol=http;AccountName=${azurite.account};AccountKey=${azurite.key};BlobEndpoint=${azurite.blobEndpoint};`;
    ({ bare, work } = await createDvcOrigin(root, 'models', 'azure://dvc/store', undefined, {
      account_name: azurite.account,
      connection_string: connection,
    }));
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  it('publishes to files/md5/<xx>/<rest> as dvc push does, then loads by stage with a fresh cache', async () => {
    const published = await open().publish({ name: 'digits', bytes: onnx, aliases: ['prod'] });
    expect(published.version).toBe('v0.0.1');
    const h = md5(onnx);
    const blob = container.getBlobClient(`store/files/md5/${h.slice(0, 2)}/${h.slice(2)}`);
    expect(Buffer.from(await blob.downloadToBuffer()).equals(Buffer.from(onnx))).toBe(true);
    expect(await git(bare, 'show', 'main:models/digits.onnx.dvc')).toContain(
      `- md5: ${h}\n  size: ${onnx.byteLength}\n  hash: md5\n`,
    );
    expect(await loadsAndPredicts(open(), 'dvc:digits#prod')).toBe('v0.0.1');
  });

  it('reads a DVC 2 object at <xx>/<rest>, and refuses content whose md5 differs from the .dvc file', async () => {
    const old = new Uint8Array([...onnx]);
    const h = md5(old);
    await container.getBlockBlobClient(`store/${h.slice(0, 2)}/${h.slice(2)}`).uploadData(old);
    await registerDvc2(work, 'legacy', old);
    expect(await loadsAndPredicts(open(), 'dvc:legacy@v1.0.0')).toBe('v1.0.0');
    // Someone overwrote the object (with a valid Content-MD5 of the new bytes): DVC's md5 still catches it.
    const other = new TextEncoder().encode('not the model');
    await container
      .getBlockBlobClient(`store/${h.slice(0, 2)}/${h.slice(2)}`)
      .uploadData(other, { blobHTTPHeaders: { blobContentMD5: createHash('md5').update(other).digest() } });
    expect(await codeOf(loadModel('dvc:legacy@v1.0.0', { registry: open(), workers: 1, logger: silentLogger }))).toBe(
      'INTEGRITY_MISMATCH',
    );
  });

  it('takes the secret from .dvc/config.local of a local checkout, as `dvc remote modify --local` leaves it', async () => {
    const checkout = await createDvcOrigin(join(root, 'local'), 'models', 'azure://dvc/store', undefined, {
      account_name: azurite.account,
    });
    await writeFiles(checkout.work, {
      '.dvc/config.local': `['remote "storage"']\n    connection_string = DefaultEndpointsProtocol=http;AccountName=${azurite.account};AccountKey=${azurite.key};BlobEndpoint=${azurite.blobEndpoint};\n`,
    });
    const h = md5(onnx);
    await container.getBlockBlobClient(`store/${h.slice(0, 2)}/${h.slice(2)}`).uploadData(onnx);
    await registerDvc2(checkout.work, 'local', onnx);
    const registry = createDvcRegistry({ repo: checkout.work, cacheDir: join(root, `cache-${++n}`), ...fast });
    expect(await loadsAndPredicts(registry, 'dvc:local@v1.0.0')).toBe('v1.0.0');
  });

  it('a wrong account key is REGISTRY_AUTH_FAILED; a remote with no account says what to set', async () => {
    // A `remote` URL replaces .dvc/config's remote and its settings: the environment gives the account (as for DVC).
    const viaEnv = () =>
      createDvcRegistry({
        repo: bare,
        remote: 'azure://dvc/store',
        azure: { blobEndpoint: azurite.blobEndpoint },
        cacheDir: join(root, `cache-${++n}`),
        ...fast,
      });
    const saved = { ...process.env };
    try {
      process.env.AZURE_STORAGE_ACCOUNT = azurite.account;
      process.env.AZURE_STORAGE_KEY = Buffer.from('y'.repeat(64)).toString('base64');
      expect(await codeOf(loadModel('dvc:digits#prod', { registry: viaEnv(), workers: 1, logger: silentLogger }))).toBe(
        'REGISTRY_AUTH_FAILED',
      );
      process.env.AZURE_STORAGE_KEY = azurite.key;
      expect(await loadsAndPredicts(viaEnv(), 'dvc:digits#prod')).toBe('v0.0.1');
      for (const k of ['AZURE_STORAGE_ACCOUNT', 'AZURE_STORAGE_KEY', 'AZURE_STORAGE_CONNECTION_STRING'])
        delete process.env[k];
      const lost = createDvcRegistry({ repo: bare, remote: 'azure://dvc/store', cacheDir: join(root, 'c-none') });
      const e = await loadModel('dvc:digits#prod', { registry: lost, workers: 1, logger: silentLogger }).catch(
        (x: unknown) => x as ModelshipError,
      );
      expect(e).toMatchObject({ code: 'INVALID_OPTIONS' });
      expect((e as Error).message).toContain('account_name');
    } finally {
      process.env = saved;
    }
  });

  it('refuses an account name that would name another host (a hostile .dvc/config)', async () => {
    const hostile = await createDvcOrigin(join(root, 'hostile'), 'models', 'azure://dvc/store', undefined, {
      account_name: 'evil.example.com/steal?x=',
    });
    await registerDvc2(hostile.work, 'victim', onnx);
    const registry = createDvcRegistry({ repo: hostile.bare, cacheDir: join(root, `cache-${++n}`), ...fast });
    const e = await loadModel('dvc:victim', { registry, workers: 1, logger: silentLogger }).catch(
      (x: unknown) => x as ModelshipError,
    );
    expect(e).toMatchObject({ code: 'INVALID_OPTIONS' });
    expect((e as Error).message).toContain('not an account name');
  });
});

describe('DVC remote on Google Cloud Storage', () => {
  let server: VertexTestServer;
  let root: string;
  let bare: string;
  let work: string;
  let n = 0;
  const open = () => createDvcRegistry({ repo: bare, cacheDir: join(root, `cache-${++n}`), ...fast });

  beforeAll(async () => {
    server = await startVertexServer();
    root = await tempDir('modelship-dvc-gs-');
    const keyPath = join(root, 'sa.json');
    await writeFile(keyPath, JSON.stringify(server.account.keyFile));
    // `dvc remote modify storage projectname/credentialpath/endpointurl …` (credentialpath usually goes in config.local).
    ({ bare, work } = await createDvcOrigin(root, 'models', 'gs://models/dvcstore', server.url, {
      projectname: server.vertex.project,
      credentialpath: keyPath,
    }));
  });
  afterAll(async () => {
    await server?.close();
  });

  it('publishes to files/md5/<xx>/<rest> in the bucket, then loads by version with a fresh cache', async () => {
    const published = await open().publish({ name: 'digits', bytes: onnx, aliases: ['prod'] });
    const h = md5(onnx);
    const stored = server.gcs.buckets.get('models')?.get(`dvcstore/files/md5/${h.slice(0, 2)}/${h.slice(2)}`);
    expect(stored?.bytes.equals(Buffer.from(onnx))).toBe(true);
    expect(await loadsAndPredicts(open(), `dvc:digits@${published.version}`)).toBe(published.version);
  });

  it('reads a relative credentialpath from .dvc/config.local of a local checkout, relative to .dvc/', async () => {
    const checkout = await createDvcOrigin(join(root, 'local'), 'models', 'gs://models/dvcstore', server.url);
    await writeFiles(checkout.work, {
      '.dvc/config.local': `['remote "storage"']\n    credentialpath = sa.json\n`,
      '.dvc/sa.json': JSON.stringify(server.account.keyFile),
    });
    const bytes = new Uint8Array([...onnx]);
    const h = md5(bytes);
    putObject(server.gcs, 'models', `dvcstore/${h.slice(0, 2)}/${h.slice(2)}`, Buffer.from(bytes));
    await registerDvc2(checkout.work, 'relkey', bytes);
    const registry = createDvcRegistry({ repo: checkout.work, cacheDir: join(root, `cache-${++n}`), ...fast });
    expect(await loadsAndPredicts(registry, 'dvc:relkey')).toBe('v1.0.0');
  });

  it('reads a DVC 2 object, refuses a wrong md5, and maps a missing object to MODEL_NOT_FOUND', async () => {
    const old = new Uint8Array([...onnx]);
    const h = md5(old);
    putObject(server.gcs, 'models', `dvcstore/${h.slice(0, 2)}/${h.slice(2)}`, Buffer.from(old));
    await registerDvc2(work, 'legacy', old);
    expect(await loadsAndPredicts(open(), 'dvc:legacy')).toBe('v1.0.0');
    putObject(server.gcs, 'models', `dvcstore/${h.slice(0, 2)}/${h.slice(2)}`, Buffer.from('overwritten'));
    expect(await codeOf(loadModel('dvc:legacy', { registry: open(), workers: 1, logger: silentLogger }))).toBe(
      'INTEGRITY_MISMATCH',
    );
    server.gcs.buckets.get('models')?.delete(`dvcstore/${h.slice(0, 2)}/${h.slice(2)}`);
    expect(await codeOf(loadModel('dvc:legacy', { registry: open(), workers: 1, logger: silentLogger }))).toBe(
      'MODEL_NOT_FOUND',
    );
  });
});
