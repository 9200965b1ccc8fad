/** The registry contract suite on the Vertex AI adapter, against the Vertex + Cloud Storage test server with ADC keys. */
import { join } from 'node:path';
import { createVertexRegistry } from '../../src/registries/vertex/index.js';
import type { RegistryWarning } from '../../src/spec/registry.js';
import { testRegistry } from '../contract/registry.js';
import { tempDir } from '../helpers/models.js';
import { startVertexServer, vertexTestOptions } from '../servers/vertex/server.js';

const fast = { retries: 1, retryDelayMs: 1, maxRetryDelayMs: 2, timeoutMs: 10_000 };

testRegistry('vertex', async () => {
  const server = await startVertexServer();
  const cacheDir = join(await tempDir(), 'cache');
  const open = (onWarning?: (w: RegistryWarning) => void) =>
    createVertexRegistry({
      ...vertexTestOptions(server, cacheDir),
      ...fast,
      ...(onWarning ? { onWarning } : {}),
    });
  const registry = open();
  return {
    registry,
    // "/n" is version id n; a bare name is Vertex's default version (publish makes each new version the default);
    // "/latest" is the highest version id.
    ref: (name, selector) => `vertex:${name}${selector === '' ? '' : `@${selector.replace(/^[/@]/, '')}`}`,
    seed: async (name, bytes, aliases, metadata) =>
      (await registry.publish({ name, bytes, aliases: aliases ?? [], metadata: metadata ?? {} })).version,
    moveAlias: (name, alias, version) => registry.setAlias(name, alias, version),
    outage: { stop: () => server.stop(), start: () => server.start(), reopen: (onWarning) => open(onWarning) },
    close: () => server.close(),
  };
});
