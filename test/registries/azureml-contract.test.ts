/**
 * The registry contract suite on the Azure ML adapter: ARM over TLS (the test server, its self-signed certificate
 * trusted through an undici Agent), model files in Azurite through @azure/storage-blob, an injected TokenCredential.
 */
import { join } from 'node:path';
import { createAzureMlRegistry } from '../../src/registries/azureml/index.js';
import type { RegistryWarning } from '../../src/spec/registry.js';
import { testRegistry } from '../contract/registry.js';
import { tempDir } from '../helpers/models.js';
import { startAzureMl } from '../servers/azure/azureml-fixture.js';

const fast = { retries: 1, retryDelayMs: 1, maxRetryDelayMs: 2, timeoutMs: 10_000 };

testRegistry('azureml', async () => {
  const f = await startAzureMl();
  const cacheDir = join(await tempDir(), 'cache');
  const open = (onWarning?: (w: RegistryWarning) => void) =>
    createAzureMlRegistry({ ...f.options, cacheDir, ...fast, ...(onWarning ? { onWarning } : {}) });
  const registry = open();
  return {
    registry,
    // "/n" is version n, "@a" an alias tag, a bare name and "@latest" the newest version.
    ref: (name, selector) =>
      selector === ''
        ? `azureml:${name}`
        : selector.startsWith('/')
          ? selector === '/latest'
            ? `azureml:${name}@latest`
            : `azureml:${name}:${selector.slice(1)}`
          : `azureml:${name}${selector}`,
    seed: async (name, bytes, aliases, metadata) =>
      (await registry.publish({ name, bytes, aliases: aliases ?? [], metadata: metadata ?? {} })).version,
    moveAlias: (name, alias, version) => registry.setAlias(name, alias, version),
    outage: { stop: () => f.arm.stop(), start: () => f.arm.start(), reopen: (onWarning) => open(onWarning) },
    close: () => f.close(),
  };
});
