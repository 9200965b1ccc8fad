/**
 * The deployment state machine on its own: plain states, commands and a clock that is just a number, so every
 * transition is checked without loading a model or waiting on a timer.
 */
import { describe, expect, it } from 'vitest';
import {
  initialState,
  transition,
  type DeploymentCommand,
  type DeploymentState,
  type MachineConfig,
} from '../../src/routing/deployment-state.js';
import { judge, type GuardrailPolicy } from '../../src/routing/guardrails.js';
import type { WindowStats } from '../../src/routing/policy/index.js';

const v1 = { key: 'a', version: '1', ref: 'mnist/1' };
const v2 = { key: 'b', version: '2', ref: 'mnist/2' };
const v3 = { key: 'c', version: '3', ref: 'mnist/3' };
const config: MachineConfig = { name: 'mnist', keepPreviousMs: 600_000, coolDownMs: 60_000, bakeMs: 0, minRequests: 0 };
const progressive: MachineConfig = { ...config, steps: [0.1, 0.5, 1], bakeMs: 1_000, minRequests: 10 };

/** A fake clock: the tests move it by hand. */
function clock(start = 1_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

function run(
  state: DeploymentState,
  commands: DeploymentCommand[],
  cfg: MachineConfig,
  now: number,
): { state: DeploymentState; events: string[] } {
  const events: string[] = [];
  for (const command of commands) {
    const out = transition(state, command, cfg, now);
    state = out.state;
    events.push(...out.events.map((e) => e.event));
  }
  return { state, events };
}

const stats = (over: Partial<WindowStats> = {}): WindowStats => ({
  requests: 200,
  errors: 0,
  errorRate: 0,
  p50Ms: 1,
  p99Ms: 2,
  compared: 0,
  agreed: 0,
  agreement: undefined,
  ...over,
});

describe('deployment state machine', () => {
  it('starts a canary at the first progressive step, or at its weight without a schedule', () => {
    const c = clock();
    expect(initialState(v1, undefined, 0, config, c.now())).toEqual({ revision: 0, stable: v1 });
    expect(initialState(v1, v2, 0.3, config, c.now()).canary).toEqual({ ...v2, weight: 0.3 });
    const s = initialState(v1, v2, 0.3, progressive, c.now());
    expect(s.canary?.weight).toBe(0.1);
    expect(s.progressive).toEqual({ step: 0, since: 1_000, halted: false });
  });

  it('advances a step only after the bake, with enough canary traffic and outside a cool-down; the last step promotes', () => {
    const c = clock();
    let s = initialState(v1, v2, 0, progressive, c.now());
    c.advance(500);
    expect(transition(s, { type: 'advance', served: 50 }, progressive, c.now()).state).toBe(s); // bake not over
    c.advance(600);
    expect(transition(s, { type: 'advance', served: 9 }, progressive, c.now()).state).toBe(s); // too little traffic
    const cooling = { ...s, coolDownUntil: c.now() + 1 };
    expect(transition(cooling, { type: 'advance', served: 50 }, progressive, c.now()).state).toBe(cooling);
    const step = transition(s, { type: 'advance', served: 10 }, progressive, c.now());
    expect(step.events).toEqual([
      { event: 'promote', payload: { version: '2', weight: 0.5, final: false, reason: 'progressive' } },
    ]);
    s = step.state;
    expect(s.progressive).toEqual({ step: 1, since: 2_100, halted: false });
    expect(s.revision).toBe(1);
    c.advance(1_000);
    const last = transition(s, { type: 'advance', served: 10 }, progressive, c.now());
    expect(last.events.map((e) => e.payload)).toEqual([
      { version: '2', weight: 1, final: true, reason: 'progressive' },
    ]);
    expect(last.state.stable).toEqual(v2);
    expect(last.state.canary).toBeUndefined();
    expect(last.state.progressive).toBeUndefined();
    expect(last.state.previous).toEqual({ ...v1, closesAt: 3_100 + 600_000 });
    expect(last.state.lastChange).toEqual({ kind: 'promote', reason: 'progressive', at: 3_100 });
  });

  it('rolls back the canary first, else reverts to the previous version, else refuses', () => {
    const c = clock();
    const s = initialState(v1, v2, 0.5, progressive, c.now());
    const back = transition(s, { type: 'rollback', reason: 'manual' }, progressive, c.now());
    expect(back.state.canary?.weight).toBe(0);
    expect(back.state.progressive?.halted).toBe(true);
    expect(back.events).toEqual([
      { event: 'rollback', payload: { kind: 'canary', from: '2', to: '1', reason: 'manual' } },
    ]);
    // The canary takes no traffic any more and nothing was replaced: nothing to roll back.
    expect(() => transition(back.state, { type: 'rollback', reason: 'manual' }, progressive, c.now())).toThrow(
      expect.objectContaining({ code: 'NOTHING_TO_ROLL_BACK' }),
    );
    const switched = transition(
      initialState(v1, undefined, 0, config, c.now()),
      { type: 'switch', to: v3, reason: 'watch' },
      config,
      c.now(),
    );
    const reverted = transition(switched.state, { type: 'rollback', reason: 'manual' }, config, c.now());
    expect(reverted.state.stable).toEqual(v1);
    expect(reverted.state.previous).toBeUndefined();
    expect(reverted.events.map((e) => e.payload)).toEqual([{ kind: 'switch', from: '3', to: '1', reason: 'manual' }]);
  });

  it('switches stable, keeping the old one as previous unless keepPrevious is 0, and lets its time run out', () => {
    const c = clock();
    const s = initialState(v1, undefined, 0, config, c.now());
    const out = transition(s, { type: 'switch', to: v2, reason: 'manual' }, config, c.now());
    expect(out.events).toEqual([{ event: 'switch', payload: { from: '1', to: '2', reason: 'manual' } }]);
    expect(out.state.previous).toEqual({ ...v1, closesAt: 601_000 });
    expect(
      transition(s, { type: 'switch', to: v2, reason: 'manual' }, { ...config, keepPreviousMs: 0 }, c.now()).state
        .previous,
    ).toBeUndefined();
    // A timer of a version replaced since then changes nothing.
    expect(transition(out.state, { type: 'expire-previous', key: 'other' }, config, c.now()).state).toBe(out.state);
    expect(
      transition(out.state, { type: 'expire-previous', key: 'a' }, config, c.now()).state.previous,
    ).toBeUndefined();
  });

  it('checks a weight by hand, which halts the progressive schedule', () => {
    const c = clock();
    const s = initialState(v1, v2, 0, progressive, c.now());
    for (const weight of [-0.1, 1.5, Number.NaN, '0.5' as unknown as number]) {
      expect(() => transition(s, { type: 'set-weight', weight }, progressive, c.now())).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    const set = transition(s, { type: 'set-weight', weight: 0.7 }, progressive, c.now()).state;
    expect(set.canary?.weight).toBe(0.7);
    expect(set.progressive?.halted).toBe(true);
    c.advance(10_000);
    expect(transition(set, { type: 'advance', served: 1_000 }, progressive, c.now()).state).toBe(set);
    const alone = initialState(v1, undefined, 0, config, c.now());
    expect(() => transition(alone, { type: 'set-weight', weight: 0.5 }, config, c.now())).toThrow(/no canary to weigh/);
    expect(() => transition(alone, { type: 'promote', reason: 'manual' }, config, c.now())).toThrow(
      /no canary to promote/,
    );
  });

  it('keeps a state that survives JSON, with a revision bumped by every change', () => {
    const c = clock();
    const { state } = run(
      initialState(v1, v2, 0.2, config, c.now()),
      [
        { type: 'set-weight', weight: 0.4 },
        { type: 'promote', reason: 'admin' },
        { type: 'switch', to: v3, reason: 'watch' },
      ],
      config,
      c.now(),
    );
    expect(state.revision).toBe(3);
    expect(state.stable).toEqual(v3);
    expect(state.previous).toMatchObject(v2);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    expect(Object.values(state).some((v) => typeof v === 'function')).toBe(false);
  });
});

describe('guardrail evaluation', () => {
  const policy: GuardrailPolicy = { limits: { minRequests: 100, maxErrorRate: 0.05 }, action: 'rollback' };
  const bad = stats({ errors: 40, errorRate: 0.2 });

  it('rolls back a breaching canary with a cool-down, and neither advances nor judges the shadow after it', () => {
    const c = clock();
    const s = initialState(v1, v2, 0.5, progressive, c.now());
    const commands = judge(s, v3, (key) => (key === 'b' ? bad : stats()), 50, policy, c.now());
    expect(commands.map((x) => x.type)).toEqual(['breach', 'rollback-canary']);
    const { state, events } = run(s, commands, progressive, c.now());
    expect(events).toEqual(['guardrail', 'rollback']);
    expect(state.coolDownUntil).toBe(61_000);
    expect(state.canary?.weight).toBe(0);
    expect(judge(state, v3, () => bad, 50, policy, c.now()).map((x) => x.type)).toEqual(['advance']); // cooling down
  });

  it('only alerts with action "alert", judges stable against previous after a switch, and reports a shadow', () => {
    const c = clock();
    const s = initialState(v1, v2, 0.5, config, c.now());
    expect(
      judge(s, undefined, (key) => (key === 'b' ? bad : stats()), 0, { ...policy, action: 'alert' }, c.now()).map(
        (x) => x.type,
      ),
    ).toEqual(['breach']);
    const switched = transition(
      initialState(v1, undefined, 0, config, c.now()),
      { type: 'switch', to: v2, reason: 'watch' },
      config,
      c.now(),
    ).state;
    expect(
      judge(switched, undefined, (key) => (key === 'b' ? bad : stats()), 0, policy, c.now()).map((x) => x.type),
    ).toEqual(['breach', 'revert']);
    const shadowed = judge(
      initialState(v1, undefined, 0, config, c.now()),
      v3,
      (key) => (key === 'c' ? bad : stats()),
      0,
      policy,
      c.now(),
    );
    expect(shadowed).toMatchObject([
      { type: 'breach', finding: { role: 'shadow', action: 'alert', version: '3' } },
      { type: 'advance' },
    ]);
    expect(judge(s, v3, () => bad, 0, { ...policy, limits: undefined }, c.now()).map((x) => x.type)).toEqual([
      'advance',
    ]);
  });
});
