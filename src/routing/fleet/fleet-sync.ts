import { ModelshipError, toModelshipError } from '../../errors/index.js';
import type { Logger } from '../../serving/logger.js';
import type { SharedStateEntry, SharedStateStore } from '../../spec/shared-state.js';
import {
  transition,
  type DeploymentCommand,
  type DeploymentState,
  type EmittedEvent,
  type MachineConfig,
  type VersionEntry,
} from '../deployment-state.js';
import { loadVersion, type LoadContext } from '../version-loading.js';
import { toEntry, type VersionSet } from '../version-set.js';
import type { VersionSlot } from '../version-slot.js';
import { fromFleetDocument, parseFleetDocument, toFleetDocument, type FleetVersion } from './fleet-document.js';

/** Compare-and-set attempts of one change before FLEET_CONFLICT: each lost attempt means another replica wrote. */
const MAX_ATTEMPTS = 8;

/** What the fleet needs from its deployment. */
export interface FleetHost {
  readonly name: string;
  readonly logger: Logger;
  readonly store: SharedStateStore;
  readonly machine: MachineConfig;
  readonly load: LoadContext;
  readonly versions: VersionSet;
  readonly now: () => number;
  /** This replica's name in the document's `lastChange.by`. */
  readonly replica: string;
  /** `prefix + name + "/" + version`: the reference every replica loads exactly this version with. */
  pin(slot: VersionSlot): string;
  /** Applies a state (roles, retirements, routing, timers) and emits `events`. */
  apply(before: DeploymentState, state: DeploymentState, events: readonly EmittedEvent[]): void;
}

/**
 * Keeps a deployment's routing state in its registry so that every replica serves the same: a change any
 * replica decides (a guardrail breach, a progressive step, a switch, an admin action) is decided on the latest
 * shared state and written with compare-and-set, so two replicas acting at once make one change (the loser
 * reads again and decides anew, usually finding nothing left to do); every replica polls the document and
 * applies what changed, loading versions it does not have yet. Only the writer emits the change's events, so
 * fleet-wide counts are not multiplied by the number of replicas. Callers serialise calls (the deployment's
 * change chain).
 */
export class FleetSync {
  readonly #host: FleetHost;
  /** The etag of the document this replica last applied or wrote. */
  #etag: string | null = null;
  /** Loaded versions by the reference the document names them with. */
  readonly #byRef = new Map<string, VersionSlot>();

  constructor(host: FleetHost) {
    this.#host = host;
  }

  /** Makes a loaded version known to the fleet (the initial ones, a candidate about to be switched to). */
  remember(slot: VersionSlot): void {
    this.#byRef.set(this.#host.pin(slot), slot);
  }

  /** The reference the document names the version under `entry.key` with. */
  pinOf(entry: VersionEntry): string {
    for (const [ref, slot] of this.#byRef) if (slot.key === entry.key) return ref;
    throw new ModelshipError('INTERNAL', `Deployment ${this.#host.name}: version ${entry.version} is not loaded.`);
  }

  /**
   * Joins the fleet before serving: applies the shared state when there is one (the restarted replica serves
   * what the others serve from its first request), else writes this replica's initial state.
   */
  async join(): Promise<void> {
    // The shadow is not shared state (it may even be stable's version): only the roles the document names.
    const { stable, canary, previous } = this.#host.versions;
    for (const slot of [stable, canary, previous]) if (slot !== undefined) this.remember(slot);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = await this.#host.store.read(this.#host.name);
      if (entry !== undefined) return this.#reconcile(entry);
      const state = this.#host.versions.state;
      const written = await this.#host.store.write(this.#host.name, this.#document(state), null);
      if (written.written) {
        this.#etag = written.etag;
        return;
      }
    }
    throw this.#conflict();
  }

  /** Reads the shared state and applies it if another replica changed it. */
  async sync(): Promise<void> {
    const entry = await this.#host.store.read(this.#host.name);
    if (entry === undefined) {
      // Deleted by hand: this replica's state becomes the fleet's again.
      const written = await this.#host.store.write(this.#host.name, this.#document(this.#host.versions.state), null);
      if (written.written) this.#etag = written.etag;
      return;
    }
    if (entry.etag !== this.#etag) await this.#reconcile(entry);
  }

  /**
   * Decides a change on the latest shared state and writes it with compare-and-set; on a lost race, reads again
   * and decides anew. `candidate`, a version loaded for a switch, joins the deployment only if the change naming
   * it is written. Returns the commands that were written (none when there was nothing left to do).
   */
  async propose(
    decide: (state: DeploymentState) => readonly DeploymentCommand[],
    candidate?: VersionSlot,
  ): Promise<readonly DeploymentCommand[]> {
    const host = this.#host;
    if (candidate) this.remember(candidate);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = await host.store.read(host.name);
      if (entry !== undefined && entry.etag !== this.#etag) await this.#reconcile(entry);
      const before = host.versions.state;
      const commands = decide(before);
      let state = before;
      const events: EmittedEvent[] = [];
      for (const command of commands) {
        const t = transition(state, command, host.machine, host.now());
        state = t.state;
        events.push(...t.events);
      }
      if (state === before) return [];
      const written = await host.store.write(host.name, this.#document(state), entry?.etag ?? null);
      if (written.written) {
        this.#etag = written.etag;
        if (candidate) host.versions.add(candidate);
        host.apply(before, state, events);
        this.#forgetRetired();
        return commands;
      }
    }
    throw this.#conflict();
  }

  #document(state: DeploymentState): string {
    return JSON.stringify(toFleetDocument(state, (e) => this.pinOf(e), this.#host.replica));
  }

  #conflict(): ModelshipError {
    return new ModelshipError(
      'FLEET_CONFLICT',
      `Deployment ${this.#host.name}: other replicas kept changing the shared state while this change was written (${MAX_ATTEMPTS} attempts); read the status and try again.`,
    );
  }

  /** Applies a document another replica wrote: loads the versions it names that are not here yet, then routes. */
  async #reconcile(entry: SharedStateEntry): Promise<void> {
    const host = this.#host;
    const doc = parseFleetDocument(entry.document, host.name);
    const named = [doc.stable, doc.canary, doc.previous].filter((v): v is FleetVersion => v !== undefined);
    for (const v of named) {
      const known = this.#byRef.get(v.ref);
      if (known !== undefined) {
        host.versions.add(known);
        continue;
      }
      const slot = await loadVersion(v.ref, host.load);
      if (slot.version !== v.version) {
        await slot.model.close().catch(() => undefined);
        throw new ModelshipError(
          'FLEET_STATE_INVALID',
          `Deployment ${host.name}: the fleet state names version ${v.version}, but its reference loads version ${slot.version}.`,
        );
      }
      host.versions.add(slot);
      this.#byRef.set(v.ref, slot);
    }
    const before = host.versions.state;
    const state = fromFleetDocument(doc, (v) => toEntry(this.#byRef.get(v.ref) as VersionSlot));
    this.#etag = entry.etag;
    host.apply(before, state, []);
    this.#forgetRetired();
    const change = doc.lastChange;
    host.logger.info(
      `Deployment ${host.name}: applied fleet revision ${doc.revision}${change ? ` (${change.kind}, ${change.reason}, by ${change.by})` : ''}.`,
    );
  }

  #forgetRetired(): void {
    for (const [ref, slot] of this.#byRef) if (slot.retired) this.#byRef.delete(ref);
  }
}

/** The warning logged when the shared state could not be read or applied; the replica keeps serving. */
export function fleetWarning(name: string, error: unknown): string {
  const e = toModelshipError(error);
  return `Deployment ${name}: the fleet state could not be read or applied (${e.code}: ${e.message}); still serving the last state, trying again at the next poll.`;
}
