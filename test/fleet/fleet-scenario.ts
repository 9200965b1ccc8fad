/**
 * The fleet scenario of issue 21, run against one shared registry (local, MLflow): 3 replicas behind a
 * round-robin proxy. The registry part is given by `setup`; everything else is the same for every registry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digits } from '../helpers/deployments.js';
import { until } from '../helpers/wait.js';
import {
  admin,
  load,
  routing,
  send,
  startReplica,
  status,
  type Outcome,
  type Replica,
  type ReplicaEvent,
} from './fleet-harness.js';
import { startRoundRobinProxy, type RoundRobinProxy } from './round-robin-proxy.js';

/** What a registry under test gives the scenario. */
export interface FleetRegistry {
  /** Env telling replica.ts which registry to use. */
  readonly env: Record<string, string>;
  /** Moves `mnist@production` to `version`, as an operator would. */
  setProduction(version: string): Promise<void>;
  /** The stable version the shared state in the registry names for `deployment`. */
  sharedStable(deployment: string): Promise<string | undefined>;
  close(): Promise<void>;
}

const INTERVAL_MS = 200;
const KEYS = 1200;
const CONCURRENCY = 8;
const PREDICT = '/models/mnist/predict';

function count(events: readonly ReplicaEvent[], deployment: string, event: string): number {
  return events.filter((e) => e.deployment === deployment && e.event === event).length;
}

/** Registers the scenario's tests. */
export function describeFleet(label: string, setup: () => Promise<FleetRegistry>): void {
  describe(`a fleet of 3 replicas sharing ${label}`, () => {
    let registry: FleetRegistry;
    let replicas: Replica[];
    let proxy: RoundRobinProxy;
    let env: Record<string, string>;
    const body = JSON.stringify({ inputs: { pixels: [digits(1).images[0]] } });
    const all = (): ReplicaEvent[] => replicas.flatMap((r) => r.events);
    const everyReplica = async (deployment: string, ok: (s: Awaited<ReturnType<typeof status>>) => boolean) =>
      (await Promise.all(replicas.map((r) => status(r.port, deployment)))).every(ok);
    let canaryKeys: string[] = [];

    beforeAll(async () => {
      registry = await setup();
      env = {
        ...registry.env,
        FLEET_INTERVAL_MS: String(INTERVAL_MS),
        FLEET_MIN_REQUESTS: '100',
        FLEET_BAKE_MS: '1500',
      };
      // Started at once: all three find no shared state and race to write the first one; one write wins.
      replicas = await Promise.all([
        startReplica('a', { ...env, FLEET_GUARDRAILS: '1' }),
        startReplica('b', env),
        startReplica('c', env),
      ]);
      proxy = await startRoundRobinProxy(replicas.map((r) => r.port));
    });

    afterAll(async () => {
      await proxy?.close();
      await Promise.all((replicas ?? []).map((r) => r.stop()));
      await registry?.close();
    });

    it('serves a 10 % canary at 10 % ± 1.5 % fleet-wide, each routing key on the same version on every replica', async () => {
      const outcomes = await load(proxy.port, PREDICT, body, KEYS, CONCURRENCY, (i) => `user-${i}`);
      expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
      const share = outcomes.filter((o) => o.version === '3').length / KEYS;
      expect(Math.abs(share - 0.1)).toBeLessThanOrEqual(0.015);
      // The balancer spread them: every replica answered a third.
      for (const r of replicas)
        expect(proxy.stats.connections.get(r.port)).toBeGreaterThanOrEqual(Math.floor(KEYS / 3));
      canaryKeys = outcomes.flatMap((o, i) => (o.version === '3' ? [`user-${i}`] : []));
      // Sticky across replicas by construction of the hash: the balancer need not be sticky.
      for (const i of [0, 1, 2, 3, 4, 5, 6, 7]) {
        const key = `user-${i}`;
        const versions = await Promise.all(replicas.map((r) => send(r.port, PREDICT, body, key)));
        expect(new Set(versions.map((v) => v.version))).toEqual(new Set([outcomes[i]?.version]));
      }
    });

    it('takes the canary out on every replica when one replica finds it breaching a guardrail', async () => {
      const [a] = replicas as [Replica];
      // Only replica a judges the canary (its guardrails need 100 canary answers): send it the canary's keys.
      const outcomes = await load(a.port, PREDICT, body, 150, 4, (i) => canaryKeys[i % canaryKeys.length]);
      expect(outcomes.every((o) => o.status === 200)).toBe(true);
      await until(
        () => everyReplica('mnist', (s) => s.canary?.weight === 0),
        'the canary at weight 0 on all three replicas',
      );
      // Decided and written once, by a; the others applied it.
      expect(count(all(), 'mnist', 'guardrail')).toBe(1);
      expect(
        all()
          .filter((e) => e.deployment === 'mnist' && e.event === 'rollback')
          .map((e) => e.replica),
      ).toEqual(['a']);
      const after = await load(proxy.port, PREDICT, body, 60, CONCURRENCY, (i) => canaryKeys[i % canaryKeys.length]);
      expect(after.map((o) => o.version)).toEqual(after.map(() => '1'));
    });

    it('moves every replica when the alias moves, with one switch written', async () => {
      await registry.setProduction('2');
      await until(() => everyReplica('mnist', (s) => s.stable.version === '2'), 'stable version 2 on all three');
      expect(count(all(), 'mnist', 'switch')).toBe(1);
      expect(await registry.sharedStable('mnist')).toBe('2');
    });

    it('advances a progressive schedule once per step, not once per replica', async () => {
      await until(
        () => everyReplica('mnist-progressive', (s) => s.stable.version === '2' && s.canary === undefined),
        'the progressive canary promoted on all three',
      );
      const promotions = all().filter((e) => e.deployment === 'mnist-progressive' && e.event === 'promote');
      expect(promotions.map((e) => [e.payload.weight, e.payload.final])).toEqual([
        [0.5, false],
        [1, true],
      ]);
    });

    it('applies an admin action taken on one replica on every replica', async () => {
      const [, b, c] = replicas as [Replica, Replica, Replica];
      expect(await admin(b.port, 'mnist', { action: 'weights', weight: 0.3 })).toBe(200);
      await until(() => everyReplica('mnist', (s) => s.canary?.weight === 0.3), 'weight 0.3 on all three');
      expect(await admin(c.port, 'mnist', { action: 'rollback' })).toBe(200);
      await until(() => everyReplica('mnist', (s) => s.canary?.weight === 0), 'the canary rolled back on all three');
      const rollbacks = all().filter((e) => e.deployment === 'mnist' && e.event === 'rollback');
      expect(rollbacks.map((e) => e.replica)).toEqual(['a', 'c']);
    });

    it('rejoins a killed replica at the current state; only its in-flight requests fail; the proxy sees no 5xx', async () => {
      const [a, b, c] = replicas as [Replica, Replica, Replica];
      const before = proxy.stats.connections.get(c.port) ?? 0;
      const running = load(proxy.port, PREDICT, body, 600, CONCURRENCY, (i) => `load-${i}`);
      await until(() => (proxy.stats.connections.get(c.port) ?? 0) > before + 50, 'replica c taking load');
      await c.kill();
      const restarted = await startReplica('c', env, c.port);
      replicas[2] = restarted;
      const outcomes: Outcome[] = await running;
      const failed = outcomes.filter((o) => o.status !== 200);
      // The only failures are connections the killed replica had taken (answering, or still in its accept queue
      // as it died) and cut: never an HTTP error, never a request to another replica.
      expect(failed.filter((o) => o.status !== 0)).toEqual([]);
      expect([...proxy.stats.cut.keys()]).toEqual(failed.length === 0 ? [] : [c.port]);
      expect(failed.length).toBe(proxy.stats.cut.get(c.port) ?? 0);
      expect([...proxy.stats.statuses.keys()].filter((s) => s >= 500)).toEqual([]);
      expect(proxy.stats.unplaced).toBe(0);
      for (const name of ['mnist', 'mnist-progressive']) {
        const [sa, sb, sc] = await Promise.all([a, b, restarted].map((r) => status(r.port, name)));
        expect(routing(sc as never)).toBe(routing(sa as never));
        expect(routing(sb as never)).toBe(routing(sa as never));
      }
      // It applied what was there: it wrote nothing and emitted no change of its own.
      expect(restarted.events).toEqual([]);
    });
  });
}
