/**
 * `npm run soak:swap`: a real HTTP server serving a deployment that follows `mnist@production` (watch: true),
 * under autocannon load, while the alias moves between two real versions in the local registry. Prints
 * `requests, non2xx, errors, swaps` and exits non-zero on any failed request or missed swap.
 *
 * SOAK_SWAPS (default 10), SOAK_SWAP_EVERY_MS (default 1500), SOAK_CONNECTIONS (default 8).
 */
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { moveAlias, serveFollowingDeployment } from './alias-swaps.js';
import { digitImage } from '../examples/shared/mnist-data.js';
import { buildTinyMnistModel } from '../examples/shared/demo-model.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SoakResult {
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly swaps: number;
  readonly versionsSeen: readonly string[];
}

/** Runs the soak: `swaps` alias moves, one every `everyMs`, under load from `connections` connections. */
export async function soakSwap(options: { swaps: number; everyMs: number; connections: number }): Promise<SoakResult> {
  const root = await mkdtemp(join(tmpdir(), 'modelship-soak-'));
  const mnist = buildTinyMnistModel();
  const following = await serveFollowingDeployment(root, mnist.onnx, buildTinyMnistModel({ seed: 2 }).onnx, 50);
  const { deployment, server } = following;
  let swaps = 0;
  deployment.on('switch', () => swaps++);
  deployment.on('rollback', () => swaps++);
  const versionsSeen = new Set<string>();
  try {
    const body = JSON.stringify({ inputs: [digitImage(mnist.test, 0)] });
    let instance: autocannon.Instance | undefined;
    const load = new Promise<autocannon.Result>((resolve, reject) => {
      instance = autocannon(
        {
          url: `${server.url}/models/mnist/predict`,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          connections: options.connections,
          duration: 3600, // stopped once the last swap is done
        },
        (error, result) => (error ? reject(error) : resolve(result)),
      );
    });
    try {
      for (let i = 1; i <= options.swaps; i++) {
        // Pacing, not synchronization: traffic runs a while on each version; the swap itself is awaited as an event.
        await new Promise((r) => setTimeout(r, options.everyMs));
        const failure = await moveAlias(following, i % 2 === 1 ? '2' : '1', ['switch', 'rollback']);
        if (failure !== undefined) throw new Error(`swap ${swaps + 1}: ${failure}`);
        versionsSeen.add(deployment.version);
      }
      await new Promise((r) => setTimeout(r, options.everyMs));
    } finally {
      instance?.stop();
    }
    const result = await load;
    return {
      requests: result.requests.total,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      swaps,
      versionsSeen: [...versionsSeen],
    };
  } finally {
    await server.close();
    await deployment.close();
    await rm(root, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const swaps = Number(process.env.SOAK_SWAPS ?? 10);
  const result = await soakSwap({
    swaps,
    everyMs: Number(process.env.SOAK_SWAP_EVERY_MS ?? 1500),
    connections: Number(process.env.SOAK_CONNECTIONS ?? 8),
  });
  console.log(`requests ${result.requests}, non2xx ${result.non2xx}, errors ${result.errors}, swaps ${result.swaps}`);
  const ok = result.non2xx === 0 && result.errors === 0 && result.swaps === swaps;
  if (!ok) console.error('soak:swap FAILED', result);
  process.exit(ok ? 0 : 1);
}
