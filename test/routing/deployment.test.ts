import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDeploymentWith,
  loadModel,
  ModelshipError,
  silentLogger,
  type Deployment,
  type DeploymentEvents,
  type LocalRegistry,
} from 'modelship';
import { deploymentRegistry, digits, failingOnEven, hanging, lagging, loaderWith } from '../helpers/deployments.js';

const { images, labels } = digits(40);
const logger = process.env.DEBUG_DEPLOY ? console : silentLogger;

/** Resolves with the first `event` payload. */
function next<E extends keyof DeploymentEvents>(d: Deployment, event: E): Promise<DeploymentEvents[E]> {
  return new Promise((resolve) => {
    const off = d.on(event, (payload) => {
      off();
      resolve(payload);
    });
  });
}

/** Sends one-digit requests (spread over routing keys) until `done` settles; returns how many were sent. */
async function trafficUntil(
  d: Deployment,
  done: Promise<unknown>,
  onError: (e: unknown) => void = () => undefined,
): Promise<number> {
  let settled = false;
  void done.then(() => (settled = true));
  let i = 0;
  while (!settled) {
    await d.predict([images[i % images.length]!], { routingKey: `user-${i}` }).catch(onError);
    i++;
  }
  return i;
}

describe('createDeployment with real models', () => {
  let registry: LocalRegistry;
  const open: Deployment[] = [];
  const deploy = async (
    options: Parameters<typeof createDeploymentWith>[1],
    wrappers?: Parameters<typeof loaderWith>[1],
  ) => {
    const d = await createDeploymentWith(loaderWith(registry, wrappers), { logger, ...options });
    open.push(d);
    return d;
  };

  beforeAll(async () => {
    registry = await deploymentRegistry();
  });
  afterAll(async () => {
    await Promise.all(open.map((d) => d.close()));
  });

  it('splits traffic by weight, sticky by routing key, and says which version answered', async () => {
    const d = await deploy({ name: 'mnist', stable: 'mnist/1', canary: { ref: 'mnist/2', weight: 0.3 } });
    const keys = Array.from({ length: 600 }, (_, i) => `key-${i}`);
    const first = await Promise.all(keys.map((k, i) => d.predict([images[i % 40]!], { routingKey: k })));
    const share = first.filter((r) => r.version === '2').length / keys.length;
    expect(share).toBeGreaterThan(0.22);
    expect(share).toBeLessThan(0.38);
    const again = await Promise.all(keys.map((k, i) => d.predict([images[(i + 7) % 40]!], { routingKey: k })));
    expect(again.map((r) => r.version)).toEqual(first.map((r) => r.version));
    expect(Number(first[0]!.outputs.label!.data[0])).toBe(labels[0]);
    expect(d.version).toBe('1');
  });

  it('rolls a failing canary back to weight 0 on the error-rate guardrail, within one evaluation', async () => {
    const d = await deploy(
      {
        name: 'mnist',
        stable: 'mnist/1',
        canary: { ref: 'mnist/2', weight: 0.5 },
        guardrails: { minRequests: 20, maxErrorRate: 0.1, interval: '10ms' },
      },
      { 'mnist/2': failingOnEven },
    );
    const guardrail = next(d, 'guardrail');
    const rollback = next(d, 'rollback');
    await trafficUntil(d, rollback);
    expect((await guardrail).breach.rule).toBe('error-rate');
    expect(await rollback).toMatchObject({ kind: 'canary', from: '2', to: '1', reason: 'guardrail' });
    expect(d.status().canary?.weight).toBe(0);
    // Afterwards every request is served by stable and none fails.
    const after = await Promise.all(images.map((img, i) => d.predict([img], { routingKey: `user-${i}` })));
    expect(after.every((r) => r.version === '1')).toBe(true);
  });

  it('rolls a slow canary back on the p99 latency ratio', async () => {
    const d = await deploy(
      {
        name: 'mnist',
        stable: 'mnist/1',
        canary: { ref: 'mnist/2', weight: 0.5 },
        guardrails: { minRequests: 20, maxLatencyP99Ratio: 1.5, interval: '10ms' },
      },
      { 'mnist/2': (m) => lagging(m, 25) },
    );
    const guardrail = next(d, 'guardrail');
    await trafficUntil(d, guardrail);
    expect(await guardrail).toMatchObject({
      version: '2',
      role: 'canary',
      action: 'rollback',
      breach: { rule: 'latency-p99-ratio' },
    });
    expect(d.status().canary?.weight).toBe(0);
  });

  it('rolls a disagreeing canary back on agreement with stable', async () => {
    const d = await deploy({
      name: 'mnist',
      stable: 'mnist/1',
      canary: { ref: 'mnist/3', weight: 0.5 },
      guardrails: { minRequests: 20, minShadowAgreement: 0.9, interval: '10ms' },
    });
    const guardrail = next(d, 'guardrail');
    await trafficUntil(d, guardrail);
    const event = await guardrail;
    expect(event.breach.rule).toBe('agreement');
    expect(event.breach.value).toBeLessThan(0.5);
    expect(d.status().canary?.weight).toBe(0);
  });

  it('does not flap: after a rollback, further evaluations change nothing during the cool-down', async () => {
    let now = 0;
    const d = await deploy(
      {
        name: 'mnist',
        stable: 'mnist/1',
        canary: { ref: 'mnist/2', weight: 0.5 },
        guardrails: { minRequests: 10, maxErrorRate: 0.1, interval: '1h', coolDown: '5m' },
        clock: () => now,
      },
      { 'mnist/2': failingOnEven },
    );
    const events: string[] = [];
    d.on('rollback', () => events.push('rollback'));
    d.on('guardrail', () => events.push('guardrail'));
    for (let i = 0; i < 60; i++) await d.predict([images[i % 40]!], { routingKey: `k${i}` }).catch(() => undefined);
    d.evaluate();
    expect(events).toEqual(['guardrail', 'rollback']);
    await d.setWeight(0.5); // someone raises it again by hand during the cool-down
    for (let i = 0; i < 60; i++) await d.predict([images[i % 40]!], { routingKey: `k${i}` }).catch(() => undefined);
    d.evaluate();
    expect(events).toEqual(['guardrail', 'rollback']);
    now += 5 * 60_000 + 1;
    for (let i = 0; i < 60; i++) await d.predict([images[i % 40]!], { routingKey: `k${i}` }).catch(() => undefined);
    d.evaluate();
    expect(events).toEqual(['guardrail', 'rollback', 'guardrail', 'rollback']);
  });

  it('promotes progressively, one step per healthy bake, and finally makes the canary stable', async () => {
    let now = 0;
    const d = await deploy({
      name: 'mnist',
      stable: 'mnist/1',
      canary: { ref: 'mnist/2', weight: 0 },
      guardrails: { minRequests: 5, maxErrorRate: 0.1, interval: '1h' },
      progressive: { steps: [0.2, 0.6, 1], bake: '5m' },
      clock: () => now,
    });
    const promotions: DeploymentEvents['promote'][] = [];
    d.on('promote', (e) => promotions.push(e));
    const send = () => Promise.all(images.map((img, i) => d.predict([img], { routingKey: `p${i}-${now}` })));
    expect(d.status().canary?.weight).toBe(0.2);
    await send();
    d.evaluate();
    expect(promotions).toEqual([]); // bake not over
    now += 5 * 60_000;
    await send();
    d.evaluate();
    expect(promotions.map((p) => [p.weight, p.final])).toEqual([[0.6, false]]);
    now += 5 * 60_000;
    await send();
    d.evaluate();
    expect(promotions.map((p) => [p.weight, p.final])).toEqual([
      [0.6, false],
      [1, true],
    ]);
    expect(d.version).toBe('2');
    expect(d.status().canary).toBeUndefined();
    expect(d.status().previous?.version).toBe('1');
  });

  it('switches blue-green, refuses incompatible and invalid candidates, and rolls back', async () => {
    const d = await deploy({
      name: 'mnist',
      stable: 'mnist/1',
      validate: { inputs: images, expect: labels, minAccuracy: 0.8 },
    });
    const refused: DeploymentEvents['refused'][] = [];
    d.on('refused', (e) => refused.push(e));
    await expect(d.switchTo('addone/1')).rejects.toMatchObject({ code: 'INCOMPATIBLE_SIGNATURE' });
    await expect(d.switchTo('mnist/3')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(d.switchTo('mnist/99')).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
    expect(refused.map((r) => r.error.code)).toEqual([
      'INCOMPATIBLE_SIGNATURE',
      'VALIDATION_FAILED',
      'VERSION_NOT_FOUND',
    ]);
    expect(d.version).toBe('1');
    const switched = next(d, 'switch');
    const status = await d.switchTo('mnist/2');
    expect(await switched).toMatchObject({ from: '1', to: '2', reason: 'manual' });
    expect(status).toMatchObject({ stable: { version: '2' }, previous: { version: '1', state: 'ready' } });
    expect((await d.predict([images[0]!])).version).toBe('2');
    await d.rollback();
    expect(d.version).toBe('1');
    expect((await d.predict([images[0]!])).version).toBe('1');
    await expect(d.rollback()).rejects.toMatchObject({ code: 'NOTHING_TO_ROLL_BACK' });
  });

  it('reverts a switch to a version that then breaches a guardrail', async () => {
    const d = await deploy(
      { name: 'mnist', stable: 'mnist/1', guardrails: { minRequests: 20, maxErrorRate: 0.1, interval: '10ms' } },
      { 'mnist/2': failingOnEven },
    );
    await d.switchTo('mnist/2');
    const rollback = next(d, 'rollback');
    await trafficUntil(d, rollback);
    expect(await rollback).toMatchObject({ kind: 'switch', from: '2', to: '1', reason: 'guardrail' });
    expect(d.version).toBe('1');
  });

  it('keeps shadow failures, hangs and disagreements away from callers', async () => {
    const direct = await loadModel('mnist/1', { registry, workers: 1, logger });
    try {
      const expected = await direct.predict(images);
      for (const [ref, wrapper] of [
        ['mnist/2', failingOnEven],
        ['mnist/2', hanging],
        ['mnist/3', undefined],
      ] as const) {
        const d = await deploy(
          { name: 'mnist', stable: 'mnist/1', shadow: { ref, sampleRate: 1, queueSize: 4 } },
          wrapper ? { [ref]: wrapper } : {},
        );
        const answers = await Promise.all(images.map((img) => d.predict([img])));
        expect(answers.every((a) => a.version === '1')).toBe(true);
        expect(answers.map((a) => Number(a.outputs.label!.data[0]))).toEqual(
          Array.from(expected.label!.data as BigInt64Array, Number),
        );
        if (wrapper === hanging) expect(d.status().shadow?.mirror.dropped).toBeGreaterThan(0);
        await d.close();
      }
    } finally {
      await direct.close();
    }
  });

  it('reports a disagreeing shadow on the agreement guardrail without touching the traffic', async () => {
    const d = await deploy({
      name: 'mnist',
      stable: 'mnist/1',
      shadow: { ref: 'mnist/3', compare: 'argmax' },
      guardrails: { minRequests: 20, minShadowAgreement: 0.9, interval: '10ms' },
    });
    const guardrail = next(d, 'guardrail');
    await trafficUntil(d, guardrail);
    expect(await guardrail).toMatchObject({
      version: '3',
      role: 'shadow',
      action: 'alert',
      breach: { rule: 'agreement' },
    });
    expect(d.version).toBe('1');
  });

  it('follows an alias in the registry: a move switches, a move back rolls back', async () => {
    const d = await deploy({
      name: 'mnist',
      registry,
      stable: 'mnist@production',
      watch: { intervalMs: 10 },
      validate: { inputs: images, expect: labels, minAccuracy: 0.8 },
    });
    const switched = next(d, 'switch');
    await registry.setAlias('mnist', 'production', '2');
    expect(await switched).toMatchObject({ from: '1', to: '2', reason: 'watch' });
    const rolledBack = next(d, 'rollback');
    await registry.setAlias('mnist', 'production', '1');
    expect(await rolledBack).toMatchObject({ kind: 'switch', from: '2', to: '1', reason: 'watch' });
    // A candidate that fails validation is refused and stable keeps serving.
    const refused = next(d, 'refused');
    await registry.setAlias('mnist', 'production', '3');
    expect(await refused).toMatchObject({ ref: 'mnist/3', reason: 'watch', error: { code: 'VALIDATION_FAILED' } });
    expect(d.version).toBe('1');
    expect((await d.predict([images[0]!])).version).toBe('1');
    await registry.setAlias('mnist', 'production', '1');
  });

  it('fails to start with a canary of another signature, closing what it loaded', async () => {
    await expect(
      createDeploymentWith(loaderWith(registry), {
        name: 'x',
        stable: 'mnist/1',
        canary: { ref: 'addone/1', weight: 0.1 },
        logger,
      }),
    ).rejects.toSatisfy((e) => ModelshipError.hasCode(e, 'INCOMPATIBLE_SIGNATURE'));
  });
});
