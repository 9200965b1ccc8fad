/**
 * Production evidence: a deployment given a tracker logs one run per version from its windows at each
 * interval, and tags switches, promotions, rollbacks and guardrail breaches with their reasons. The interval is
 * driven by the deployment's clock and `evaluate()`, so nothing here waits on real time.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  createDeploymentWith,
  createLocalTracker,
  createMlflowTracker,
  silentLogger,
  type Deployment,
  type DeploymentOptions,
  type LocalRegistry,
  type TrackingClient,
} from 'modelship';
import type { StoredRunView } from '../contract/tracker.js';
import { deploymentRegistry, digits, failingOnEven, loaderWith } from '../helpers/deployments.js';
import { tempDir } from '../helpers/models.js';
import { until } from '../helpers/wait.js';
import { startMlflowTrackingServer } from '../servers/mlflow-tracking/server.js';
import { readLocalRun, readMlflowRun } from '../tracking/readers.js';

const { images } = digits(40);
let registry: LocalRegistry;
const open: { close(): Promise<unknown> }[] = [];

beforeAll(async () => {
  registry = await deploymentRegistry();
});
afterEach(async () => {
  // Deployments first (they end their runs), then trackers and servers.
  for (const x of open.splice(0)) await x.close();
});

/** Every run of `experiment` in a local mlruns directory, by run name. */
async function localRuns(root: string, experiment: string): Promise<Record<string, StoredRunView>> {
  for (const id of await readdir(root)) {
    if (id.startsWith('.')) continue;
    const meta = parse(await readFile(join(root, id, 'meta.yaml'), 'utf8')) as { name: string };
    if (meta.name !== experiment) continue;
    const runs = (await readdir(join(root, id), { withFileTypes: true })).filter((e) => e.isDirectory());
    const views = await Promise.all(
      runs.map((r) => readLocalRun(root, { trackingUri: '', experimentId: id, runId: r.name })),
    );
    return Object.fromEntries(views.map((v) => [v.name, v]));
  }
  throw new Error(`no experiment ${experiment} in ${root}`);
}

function steps(view: StoredRunView | undefined, key: string): number[] {
  return (view?.metrics[key] ?? []).map((p) => p.step);
}

async function send(d: Deployment, count: number, offset = 0): Promise<void> {
  for (let i = 0; i < count; i++)
    await d
      .predict([images[(offset + i) % images.length]!], { routingKey: `user-${offset + i}` })
      .catch(() => undefined);
}

async function deploy(
  tracker: TrackingClient,
  options: Omit<DeploymentOptions, 'tracking'>,
  clock: () => number,
  wrappers = {},
): Promise<Deployment> {
  const d = await createDeploymentWith(loaderWith(registry, wrappers), {
    logger: silentLogger,
    clock,
    // The timers never fire during a test: the test advances the clock and calls evaluate().
    ...options,
    guardrails: { interval: '1h', ...options.guardrails },
    tracking: { tracker, interval: '10s', experiment: 'mnist-production' },
  });
  open.push(d);
  return d;
}

describe('production evidence', () => {
  it('logs one run per version at each interval and tags a guardrail rollback with its reason (local tracker)', async () => {
    const root = join(await tempDir(), 'mlruns');
    const tracker = createLocalTracker({ root, logger: silentLogger });
    let now = 1_700_000_000_000;
    const d = await deploy(
      tracker,
      {
        name: 'mnist',
        stable: 'mnist/1',
        canary: { ref: 'mnist/2', weight: 0.5 },
        shadow: { ref: 'mnist/3', queueSize: 1000 },
        guardrails: { minRequests: 20, maxErrorRate: 0.1 },
      },
      () => now,
      { 'mnist/2': failingOnEven },
    );

    await send(d, 10);
    d.evaluate(); // less than an interval since the start: nothing logged
    now += 10_000;
    d.evaluate(); // step 0: too few requests for the guardrails; weights 0.5 / 0.5
    await send(d, 80, 10);
    await until(() => {
      const m = d.status().shadow?.mirror;
      return m !== undefined && m.queued === 0 && m.running === 0;
    }, 'the shadow to catch up');
    now += 10_000;
    d.evaluate(); // step 1: the canary breaches the error rate and is rolled back, then the sample
    expect(d.status().canary?.weight).toBe(0);
    await d.close(); // step 2, then every run ends
    await tracker.close();

    const runs = await localRuns(root, 'mnist-production');
    expect(Object.keys(runs).sort()).toEqual(['mnist v1', 'mnist v2', 'mnist v3']);
    for (const run of Object.values(runs)) {
      expect(run.status).toBe('FINISHED');
      expect(run.params).toMatchObject({
        deployment: 'mnist',
        'guardrails.maxErrorRate': '0.1',
        'tracking.interval_ms': '10000',
      });
      for (const key of ['requests', 'errors', 'error_rate', 'weight']) expect(steps(run, key)).toEqual([0, 1, 2]);
    }
    const [stable, canary, shadow] = [runs['mnist v1'], runs['mnist v2'], runs['mnist v3']] as [
      StoredRunView,
      StoredRunView,
      StoredRunView,
    ];
    expect(stable.tags).toMatchObject({
      'modelship.deployment': 'mnist',
      'modelship.version': '1',
      'modelship.role': 'stable',
    });
    expect(stable.metrics.weight?.map((p) => p.value)).toEqual([0.5, 1, 1]);
    expect(canary.metrics.weight?.map((p) => p.value)).toEqual([0.5, 0, 0]);
    expect(shadow.metrics.weight?.map((p) => p.value)).toEqual([0, 0, 0]);
    expect(steps(stable, 'latency_p50_ms')).toContain(1);
    expect(steps(stable, 'latency_p99_ms')).toContain(1);
    expect(stable.metrics.requests?.[1]?.value).toBeGreaterThan(20);

    // The rotated shadow disagrees with stable on nearly every digit.
    expect(shadow.metrics.shadow_agreement?.at(-1)?.value).toBeLessThan(0.5);
    expect(shadow.tags['modelship.role']).toBe('shadow');

    expect(canary.tags['deployment.guardrail']).toMatch(
      /^error-rate 0\.\d+ vs 0\.1 over \d+ requests; rollback \(canary\)$/,
    );
    expect(canary.tags['deployment.rollback']).toMatch(
      /^guardrail \(error-rate .+\): canary weight set to 0, traffic back to v1$/,
    );
    expect(canary.tags['deployment.rollback.step']).toBe('1');
    expect(canary.metrics['event.rollback']).toEqual([{ step: 1, value: 1 }]);
    expect(canary.metrics['event.guardrail']).toEqual([{ step: 1, value: 1 }]);
    expect(stable.tags['deployment.rollback']).toBeUndefined();
  });

  it('tags promotions, switches and manual rollbacks on the runs of the versions concerned (MLflow test server)', async () => {
    const server = await startMlflowTrackingServer();
    open.push(server);
    const tracker = createMlflowTracker({
      trackingUri: server.url,
      spoolDir: await tempDir(),
      lingerMs: 0,
      logger: silentLogger,
    });
    let now = 1_700_000_000_000;
    const d = await deploy(
      tracker,
      { name: 'mnist', stable: 'mnist/1', canary: { ref: 'mnist/2', weight: 0.2 } },
      () => now,
    );
    await send(d, 20);
    now += 10_000;
    d.evaluate(); // step 0
    await d.promote();
    await send(d, 5, 20);
    now += 10_000;
    d.evaluate(); // step 1: v2 is stable, v1 kept warm as previous
    await d.switchTo('mnist/3');
    await d.rollback(); // back to v2
    await d.close(); // step 2
    const report = await tracker.close({ timeoutMs: 10_000 });
    expect(report.delivered).toBe(true);

    const experiment = [...server.state.experiments.values()].find((e) => e.name === 'mnist-production');
    const runs = Object.fromEntries(
      [...server.state.runs.values()]
        .filter((r) => r.experimentId === experiment?.experimentId)
        .map((r) => [r.runName, readMlflowRun(server.state, { trackingUri: server.url, runId: r.runId })]),
    );
    expect(Object.keys(runs).sort()).toEqual(['mnist v1', 'mnist v2', 'mnist v3']);
    for (const run of Object.values(runs)) expect(run.status).toBe('FINISHED');
    const [v1, v2, v3] = [runs['mnist v1'], runs['mnist v2'], runs['mnist v3']] as [
      StoredRunView,
      StoredRunView,
      StoredRunView,
    ];

    expect(v2.tags['deployment.promote']).toBe('manual: weight 1, now stable');
    expect(v2.tags['deployment.promote.step']).toBe('1');
    expect(v2.metrics.weight?.map((p) => p.value)).toEqual([0.2, 1, 1]);
    // v1 was kept warm as previous at step 1; the switch to v3 retired it, which ended its run.
    expect(v1.metrics.weight?.map((p) => p.value)).toEqual([0.8, 0]);
    expect(v1.tags['modelship.role']).toBe('previous');
    expect(v3.tags['deployment.switch']).toBe('manual: replaced v2');
    expect(v3.tags['deployment.rollback']).toBe('manual: reverted, traffic back to v2');
    expect(v2.tags['deployment.replaced']).toBe('manual: by v3');
    expect(v3.metrics['event.rollback']).toEqual([{ step: 2, value: 1 }]);
  });

  it('never lets a failing tracker reach the serving path, and validates the option', async () => {
    const broken: TrackingClient = {
      specificationVersion: 'v1',
      kind: 'broken',
      trackingUri: 'broken://',
      startRun: () => Promise.reject(new Error('tracker down')),
      flush: () => Promise.resolve({ delivered: false, pendingRecords: 0 }),
      close: () => Promise.resolve({ delivered: false, pendingRecords: 0 }),
      [Symbol.asyncDispose]: () => Promise.resolve(),
    };
    const warnings: string[] = [];
    let now = 0;
    const d = await createDeploymentWith(loaderWith(registry), {
      name: 'mnist',
      stable: 'mnist/1',
      clock: () => now,
      logger: { ...silentLogger, warn: (m: string) => warnings.push(m) },
      tracking: { tracker: broken, interval: 1000 },
    });
    open.push(d);
    await send(d, 5);
    now += 1000;
    d.evaluate();
    await send(d, 5);
    await d.close();
    expect(warnings.some((w) => w.includes('production evidence not recorded') && w.includes('tracker down'))).toBe(
      true,
    );

    // A tracker that never answers: close() gives up after closeTimeoutMs instead of hanging.
    const silent: TrackingClient = { ...broken, startRun: () => new Promise(() => undefined) };
    const hung = await createDeploymentWith(loaderWith(registry), {
      name: 'mnist',
      stable: 'mnist/1',
      clock: () => now,
      logger: { ...silentLogger, warn: (m: string) => warnings.push(m) },
      tracking: { tracker: silent, interval: 1000, closeTimeoutMs: 50 },
    });
    open.push(hung);
    await hung.close();
    expect(hung.state).toBe('closed');
    expect(warnings.some((w) => w.includes('did not finish the production evidence runs within 50 ms'))).toBe(true);

    await expect(
      createDeploymentWith(loaderWith(registry), {
        name: 'mnist',
        stable: 'mnist/1',
        tracking: { tracker: {} as TrackingClient },
      }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
  });
});
