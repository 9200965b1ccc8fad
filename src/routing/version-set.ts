import type { DeploymentState, VersionEntry } from './deployment-state.js';
import type { DeploymentStatus, VersionStatus } from './deployment-types.js';
import type { EvidenceVersion } from './evidence.js';
import type { MirrorStats } from './mirror.js';
import type { VersionSlot } from './version-slot.js';
import type { MonitoredStats } from './policy/guardrail-check.js';
import { monitoredStats } from '../monitoring/monitored.js';

/** A version and its role, as a telemetry gauge reports it. */
interface RoleValue {
  readonly version: string;
  readonly role: string;
  readonly value: number | undefined;
}

/** How the state names a loaded version. */
export function toEntry(slot: VersionSlot): VersionEntry {
  return { key: slot.key, version: slot.version, ref: slot.ref };
}

/**
 * The loaded versions of a deployment, by the keys its state names them with, plus the shadow (which the state
 * machine does not move). `apply` takes a new state and retires every version it no longer names: they drain
 * their requests, then close.
 */
export class VersionSet {
  readonly #slots = new Map<string, VersionSlot>();
  #state!: DeploymentState;
  #shadow: VersionSlot | undefined;

  /** Holds a loaded version until a state stops naming it. */
  add(slot: VersionSlot): void {
    this.#slots.set(slot.key, slot);
  }

  /** Sets the shadow, which stays for the deployment's life. */
  setShadow(slot: VersionSlot): void {
    this.#shadow = slot;
  }

  /** The state last applied. */
  get state(): DeploymentState {
    return this.#state;
  }

  /** Takes `state` and retires the versions it no longer names. */
  apply(state: DeploymentState): void {
    this.#state = state;
    for (const [key, slot] of this.#slots) {
      if (key === state.stable.key || key === state.canary?.key || key === state.previous?.key) continue;
      this.#slots.delete(key);
      void slot.retire();
    }
  }

  /** The loaded version behind each role of the state (the shadow's is fixed). */
  get stable(): VersionSlot {
    return this.#slots.get(this.#state.stable.key) as VersionSlot;
  }

  get canary(): VersionSlot | undefined {
    const key = this.#state.canary?.key;
    return key === undefined ? undefined : this.#slots.get(key);
  }

  get shadow(): VersionSlot | undefined {
    return this.#shadow;
  }

  get previous(): VersionSlot | undefined {
    const key = this.#state.previous?.key;
    return key === undefined ? undefined : this.#slots.get(key);
  }

  /** The window stats of the version under `key` (the shadow's included). */
  statsOf = (key: string): EvidenceVersion['stats'] & MonitoredStats => {
    const slot = (this.#shadow?.key === key ? this.#shadow : this.#slots.get(key)) as VersionSlot;
    return { ...slot.window.stats(), ...monitoredStats(slot.model) };
  };

  /** Every loaded version: stable, canary, shadow, previous. */
  all(): VersionSlot[] {
    return [this.stable, this.canary, this.#shadow, this.previous].filter((s): s is VersionSlot => s !== undefined);
  }

  /** The reference and role of a loaded version, first found in the order stable, canary, shadow, previous. */
  find(version: string): { ref: string; role: string } | undefined {
    const { stable, canary, previous } = this;
    const slot = [stable, canary, this.#shadow, previous].find((s) => s?.version === version);
    if (slot === undefined) return undefined;
    return {
      ref: slot.ref,
      role: slot === previous ? 'previous' : slot === canary ? 'canary' : slot === this.#shadow ? 'shadow' : 'stable',
    };
  }

  /** One evidence row per loaded version, read from the windows guardrails keep anyway. */
  rows(): EvidenceVersion[] {
    const w = this.#state.canary?.weight ?? 0;
    const row = (slot: VersionSlot, role: EvidenceVersion['role'], weight: number): EvidenceVersion => ({
      version: slot.version,
      ref: slot.ref,
      role,
      weight,
      stats: { ...slot.window.stats(), ...monitoredStats(slot.model) },
    });
    const rows = [row(this.stable, 'stable', 1 - w)];
    const { canary, previous } = this;
    if (canary) rows.push(row(canary, 'canary', w));
    if (this.#shadow) rows.push(row(this.#shadow, 'shadow', 0));
    if (previous) rows.push(row(previous, 'previous', 0));
    // A version in two roles (the same version as stable and shadow) is one run: keep its first row.
    return rows.filter((r, i) => rows.findIndex((o) => o.version === r.version) === i);
  }

  /** The traffic share of stable and canary, for the weight gauge. */
  weights(): RoleValue[] {
    const w = this.#state.canary?.weight ?? 0;
    const out = [{ version: this.stable.version, role: 'stable', value: 1 - w }];
    const canary = this.canary;
    if (canary) out.push({ version: canary.version, role: 'canary', value: w });
    return out;
  }

  /** The agreement of the canary and the shadow with stable, for the agreement gauge. */
  agreements(): RoleValue[] {
    const out: RoleValue[] = [];
    const canary = this.canary;
    if (canary) out.push({ version: canary.version, role: 'canary', value: canary.window.stats().agreement });
    if (this.#shadow)
      out.push({ version: this.#shadow.version, role: 'shadow', value: this.#shadow.window.stats().agreement });
    return out;
  }

  /** What `status()` shows. */
  status(name: string, state: string, mirror: MirrorStats): DeploymentStatus {
    const describe = (slot: VersionSlot): VersionStatus => ({
      version: slot.version,
      ref: slot.ref,
      state: slot.model.state,
      stats: slot.window.stats(),
    });
    const s = this.#state;
    const { canary, previous } = this;
    const p = s.progressive;
    return {
      name,
      state,
      stable: describe(this.stable),
      ...(canary && s.canary ? { canary: { ...describe(canary), weight: s.canary.weight } } : {}),
      ...(this.#shadow ? { shadow: { ...describe(this.#shadow), mirror } } : {}),
      ...(previous && s.previous ? { previous: { ...describe(previous), closesAt: s.previous.closesAt } } : {}),
      ...(p && s.canary
        ? { progressive: { step: p.step, weight: s.canary.weight, since: p.since, halted: p.halted } }
        : {}),
      ...(s.coolDownUntil !== undefined ? { coolDownUntil: s.coolDownUntil } : {}),
    };
  }
}
