import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDeploymentWith,
  createLocalRegistry,
  loadModel,
  silentLogger,
  type Deployment,
  type DeploymentEvent,
  type DeploymentEvents,
  type LocalRegistry,
  type Logger,
} from 'modelship';
import { createHttpRegistry, writeHttpRegistryIndex } from '../../src/registries/http/index.js';
import { writeMlpClassifier } from '../../examples/shared/onnx-writer.js';
import { digits, disagreeingMnist } from '../helpers/deployments.js';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { FileTestServer } from '../servers/http/file-server.js';

const { images } = digits(4);

/** Resolves with the next `event` of `d` matching `accept`. */
function next<E extends DeploymentEvent>(
  d: Deployment,
  event: E,
  accept: (e: DeploymentEvents[E]) => boolean = () => true,
): Promise<DeploymentEvents[E]> {
  return new Promise((resolve) => {
    const off = d.on(event, (e) => {
      if (!accept(e)) return;
      off();
      resolve(e);
    });
  });
}

describe('a watching deployment while its registry flaps', () => {
  let root: string;
  let local: LocalRegistry;
  let server: FileTestServer;
  const warnings: string[] = [];
  let onWarn: ((line: string) => void) | undefined;
  const logger: Logger = { ...silentLogger, warn: (line: string) => (warnings.push(line), onWarn?.(line)) } as Logger;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

  beforeAll(async () => {
    root = await tempDir('modelship-flap-');
    local = createLocalRegistry({ root });
    // Three different files (the cache is content-addressed: equal bytes would never be downloaded again).
    const files = [
      tinyMnist().onnx,
      disagreeingMnist(),
      writeMlpClassifier({ layers: tinyMnist().layers, inputName: 'pixels', name: 'mnist_v3' }),
    ];
    for (const [i, bytes] of files.entries())
      await local.publish({ name: 'mnist', bytes, aliases: i === 0 ? ['production'] : [] });
    await writeHttpRegistryIndex({ root });
    server = new FileTestServer(root);
    await server.start();
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await server.stop();
  });

  const moveAlias = async (version: string): Promise<void> => {
    await local.setAlias('mnist', 'production', version);
    await writeHttpRegistryIndex({ root });
  };

  it('keeps serving the old version through outages and completes each swap once the registry is back', async () => {
    const registry = createHttpRegistry({
      baseUrl: server.url,
      cacheDir: await tempDir('modelship-flap-cache-'),
      retries: 1,
      retryDelayMs: 1,
      maxRetryDelayMs: 2,
      // During an outage a poll is answered from the cache (REGISTRY_OFFLINE) rather than failing.
      onWarning: (w) => onWarn?.(`${w.code}: ${w.message}`),
    });
    const d = await createDeploymentWith((ref) => loadModel(ref, { registry, workers: 1, logger: silentLogger }), {
      name: 'mnist',
      registry,
      stable: 'mnist@production',
      watch: { intervalMs: 10 },
      keepPrevious: 0,
      logger,
    });
    // Steady traffic for the whole test: every request must be answered, by whichever version is stable.
    const failures: unknown[] = [];
    const served = new Set<string>();
    let running = true;
    const traffic = (async () => {
      for (let i = 0; running; i++) {
        try {
          served.add((await d.predict([images[i % images.length]!])).version);
        } catch (error) {
          failures.push(error);
        }
      }
    })();
    try {
      expect(d.version).toBe('1');

      // 1. The registry goes down, the alias moves meanwhile: polls fail, version 1 keeps answering.
      await server.stop();
      await moveAlias('2');
      await new Promise<void>(
        (resolve) => (onWarn = (line) => /watching mnist@production failed|REGISTRY_OFFLINE/.test(line) && resolve()),
      );
      expect(d.version).toBe('1');
      const toTwo = next(d, 'switch');
      await server.start();
      expect(await toTwo).toMatchObject({ from: '1', to: '2', reason: 'watch' });

      // 2. The registry flaps while the new version downloads: the swap is refused, then retried until it completes.
      const model3 = `/mnist/3/${(await registry.resolve('mnist/3')).location.split('/').pop()}`;
      server.fail(model3, ...Array.from({ length: 4 }, () => ({ kind: 'status' as const, status: 503 })));
      const refused = next(d, 'refused');
      const toThree = next(d, 'switch', (e) => e.to === '3');
      await moveAlias('3');
      expect((await refused).error).toMatchObject({ retryable: true });
      expect(d.version).toBe('2');
      expect(await toThree).toMatchObject({ from: '2', to: '3', reason: 'watch' });

      // 3. Down again while the alias moves back and forth: it ends on where the alias points when the registry is back.
      await server.stop();
      await moveAlias('1');
      await moveAlias('3');
      await moveAlias('1');
      const backToOne = next(d, 'switch', (e) => e.to === '1');
      await server.start();
      expect(await backToOne).toMatchObject({ from: '3', to: '1' });
    } finally {
      running = false;
      await traffic;
      await d.close();
    }
    expect(failures).toEqual([]);
    expect(served).toEqual(new Set(['1', '2', '3']));
    expect(unhandled).toEqual([]);
  });
});
