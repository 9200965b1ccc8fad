/**
 * A canary whose classes are permuted (real MNIST weights with the class scores rotated: it answers every
 * request, fast, without one error) is rolled back by `minLiveAccuracy` once labels arrive, while its error
 * rate shows nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createDeployment, createLocalTracker, silentLogger, type Deployment, type DeploymentEvents } from 'modelship';
import { readLocalRun } from '../tracking/readers.js';
import { tempDir } from '../helpers/models.js';
import { readdir } from 'node:fs/promises';
import { deploymentRegistry, digits } from '../helpers/deployments.js';

let deployment: Deployment | undefined;
afterEach(() => deployment?.close());

describe('minLiveAccuracy', () => {
  it('rolls back a canary with permuted classes on its live accuracy, before its error rate shows anything', async () => {
    const registry = await deploymentRegistry();
    const mlruns = join(await tempDir(), 'mlruns');
    const tracker = createLocalTracker({ root: mlruns, logger: silentLogger });
    const d = await createDeployment({
      name: 'mnist',
      stable: 'mnist/1',
      canary: { ref: 'mnist/3', weight: 0.5 },
      registry,
      logger: silentLogger,
      modelOptions: { workers: 1, monitoring: { sampleRate: 0 } },
      guardrails: { minRequests: 50, minLiveAccuracy: 0.8, maxErrorRate: 0.01, interval: '1h' },
      tracking: { tracker, interval: '1h', experiment: 'mnist-production' },
    });
    deployment = d;
    const breaches: DeploymentEvents['guardrail'][] = [];
    d.on('guardrail', (e) => breaches.push(e));
    const { images, labels } = digits(300);
    const answered = await Promise.all(
      images.map((image, i) => d.predict({ pixels: [image] }, { requestId: `q${i}` }).then((p) => p.version)),
    );
    expect(answered).toContain('3');
    // Without labels there is no evidence against the canary: no error, normal latency.
    d.evaluate();
    expect(breaches).toEqual([]);
    expect(d.status().canary?.stats.errorRate).toBe(0);
    // Labels arrive later; each joins the version that answered.
    labels.forEach((label, i) => expect(d.feedback(`q${i}`, label)).toBe('joined'));
    expect(d.feedback('q-unknown', 1)).toBe('unknown');
    d.evaluate();
    expect(breaches).toHaveLength(1);
    expect(breaches[0]).toMatchObject({ version: '3', role: 'canary', action: 'rollback' });
    expect(breaches[0]!.breach.rule).toBe('live-accuracy');
    expect(breaches[0]!.breach.value).toBeLessThan(0.3);
    expect(breaches[0]!.stats.errorRate).toBe(0);
    expect(d.status().canary?.weight).toBe(0);

    // The tracker's evidence has each version's live accuracy (the last sample is taken when the deployment closes).
    await d.close();
    deployment = undefined;
    await tracker.close();
    const views: Awaited<ReturnType<typeof readLocalRun>>[] = [];
    for (const experiment of (await readdir(mlruns)).filter((e) => !e.startsWith('.'))) {
      const runs = (await readdir(join(mlruns, experiment), { withFileTypes: true })).filter((e) => e.isDirectory());
      for (const r of runs)
        views.push(await readLocalRun(mlruns, { trackingUri: '', experimentId: experiment, runId: r.name }));
    }
    const accuracy = (name: string): number | undefined =>
      views.find((v) => v.name === name)?.metrics.live_accuracy?.at(-1)?.value;
    expect(accuracy('mnist v1')).toBeGreaterThan(0.8);
    expect(accuracy('mnist v3')).toBeLessThan(0.3);
  });
});
