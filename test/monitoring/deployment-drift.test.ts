/**
 * Drift inside a deployment, on real MNIST versions loaded with `monitoring` from a registry that stores their
 * baseline (the training split through the real model): each version's comparison with its baseline becomes a
 * deployment `drift` event with the top drifting features, the canary's window is compared with stable's
 * (reference-free, no labels), and the `maxDrift` guardrail rolls back a canary whose answers drift while a steady
 * canary stays. N: each version compares a window of 200 sampled rows (all requests sampled), about 400 requests
 * at weight 0.5. The canary "with drifting answers" is the real MNIST model with its class scores rotated; it is
 * served the same test digits as stable, so only its answers (probabilities, class, label) move.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createBaseline,
  createDeployment,
  createLocalRegistry,
  loadModel,
  silentLogger,
  type Deployment,
  type DeploymentEvents,
  type LocalRegistry,
} from 'modelship';
import { IMAGE_SIZE, loadMnist } from '../../examples/shared/mnist-data.js';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { disagreeingMnist } from '../helpers/deployments.js';

type Drift = DeploymentEvents['drift'];
let registry: LocalRegistry;
let deployment: Deployment | undefined;
afterEach(async () => {
  await deployment?.close();
  deployment = undefined;
});

/** Windows of 200 sampled rows, every request sampled, compared as soon as full (no timer). */
const monitoring = { sampleRate: 1, maxSamplesPerSecond: 1_000_000, minSamples: 200, maxSamples: 200, interval: '1h' };
const { test } = loadMnist({ seed: 1 });
const image = (i: number): number[] => Array.from(test.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE));

beforeAll(async () => {
  const plain = await loadModel(tinyMnist().onnx, { workers: 1, logger: silentLogger });
  const { train } = loadMnist({ seed: 1 });
  const pixels = {
    dtype: 'float32' as const,
    shape: [3000, IMAGE_SIZE],
    data: train.images.slice(0, 3000 * IMAGE_SIZE),
  };
  const baseline = createBaseline(
    { inputs: { pixels }, outputs: await plain.predict({ pixels }) },
    { signature: plain.signature },
  );
  await plain.close();
  registry = createLocalRegistry({ root: await tempDir() });
  await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, baseline }); // 1: stable
  await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, baseline }); // 2: a steady canary
  await registry.publish({ name: 'mnist', bytes: disagreeingMnist(), baseline }); // 3: answers drift
});

/** A deployment of stable mnist/1 and `canary` at weight 0.5 (alternating exactly), with its drift events. */
async function deploy(
  canary: string,
  guardrails?: Record<string, unknown>,
): Promise<{ d: Deployment; events: Drift[] }> {
  let turn = 0;
  const d = await createDeployment({
    name: 'mnist',
    stable: 'mnist/1',
    canary: { ref: canary, weight: 0.5 },
    registry,
    logger: silentLogger,
    random: () => (turn++ % 2 === 0 ? 0.25 : 0.75),
    modelOptions: { workers: 1, monitoring },
    ...(guardrails === undefined ? {} : { guardrails: { minRequests: 50, interval: '1h', ...guardrails } }),
  });
  deployment = d;
  const events: Drift[] = [];
  d.on('drift', (e) => events.push(e));
  return { d, events };
}

/** Serves test digits 20 at a time until `done` holds (each version fills a window in about 400 requests). */
async function serveUntil(d: Deployment, events: Drift[], done: (e: Drift[]) => boolean): Promise<number> {
  let sent = 0;
  const wait = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0)); // the monitors read their samples after the answers
  while (!done(events)) {
    if (sent >= 4000)
      throw new Error(
        `no such drift events after ${sent} requests: ${JSON.stringify(events.map((e) => [e.version, e.reference, e.share]))}`,
      );
    await Promise.all(Array.from({ length: 20 }, (_, k) => d.predict({ pixels: [image((sent + k) % test.count)] })));
    sent += 20;
    await wait();
  }
  return sent;
}

describe('deployment drift', () => {
  it('reports each version against its baseline and the canary against stable, with the top features', async () => {
    const { d, events } = await deploy('mnist/3');
    const sent = await serveUntil(d, events, (e) => e.some((x) => x.reference === 'stable'));
    // N: stable and the canary each compare a window of 200 rows; the canary is compared with stable's at once.
    expect(sent).toBeLessThanOrEqual(440);
    const stable = events.find((e) => e.version === '1' && e.reference === 'baseline')!;
    expect(stable).toMatchObject({ role: 'stable', rows: 200, total: 802 });
    // The test split against the training split: nothing drifts.
    expect(stable.drifted).toBe(0);
    const canary = events.find((e) => e.version === '3' && e.reference === 'baseline')!;
    expect(canary.role).toBe('canary');
    expect(canary.top.length).toBe(5);
    expect(canary.top[0]!.drifted).toBe(true);
    expect(canary.top.filter((f) => f.drifted).every((f) => !f.feature.startsWith('pixels'))).toBe(true);
    const vsStable = events.find((e) => e.reference === 'stable')!;
    expect(vsStable).toMatchObject({ version: '3', role: 'canary' });
    // Same inputs, other answers: only outputs drift against stable.
    // Rotated classes keep each probability's spread over the digits roughly; against stable's answers to the
    // same digits, more of them move (10 of 802 against 4 of 802 against the baseline, measured).
    expect(vsStable.drifted).toBeGreaterThan(canary.drifted);
    expect(vsStable.top.filter((f) => f.drifted).every((f) => !f.feature.startsWith('pixels'))).toBe(true);
    expect(vsStable.top.map((f) => f.feature)).toEqual(expect.arrayContaining([expect.stringMatching(/class|label/)]));
  });

  it('maxDrift rolls back a canary whose answers drift', async () => {
    const { d, events } = await deploy('mnist/3', { maxDrift: 0.002 });
    const breaches: DeploymentEvents['guardrail'][] = [];
    d.on('guardrail', (e) => breaches.push(e));
    await serveUntil(d, events, (e) => e.some((x) => x.version === '3') && e.some((x) => x.version === '1'));
    const canary = events.find((e) => e.version === '3' && e.reference === 'baseline')!;
    expect(canary.share).toBeGreaterThan(0.002);
    d.evaluate();
    expect(breaches).toHaveLength(1);
    expect(breaches[0]).toMatchObject({ version: '3', role: 'canary', action: 'rollback' });
    expect(breaches[0]!.breach).toMatchObject({ rule: 'drift', threshold: 0.002 });
    expect(d.status().canary?.weight).toBe(0);
  });

  it('maxDrift leaves a steady canary (the same model) serving', async () => {
    const { d, events } = await deploy('mnist/2', { maxDrift: 0.002 });
    const breaches: DeploymentEvents['guardrail'][] = [];
    d.on('guardrail', (e) => breaches.push(e));
    await serveUntil(d, events, (e) => e.some((x) => x.version === '2') && e.some((x) => x.version === '1'));
    const canary = events.find((e) => e.version === '2' && e.reference === 'baseline')!;
    expect(canary.share).toBeLessThan(0.002);
    d.evaluate();
    expect(breaches).toEqual([]);
    expect(d.status().canary?.weight).toBe(0.5);
  });
});
