import { toModelshipError } from '../errors/index.js';
import type { Logger } from '../serving/logger.js';
import type { DeploymentEvent, DeploymentEvents } from './deployment-types.js';

/** A listener of one deployment event. */
export type DeploymentListener<E extends DeploymentEvent> = (payload: DeploymentEvents[E]) => void;

/**
 * The deployment's events: the application's listeners, and the deployment's own subscribers (logs, metrics,
 * production evidence), which subscribe first and so hear each event first. A listener that throws is logged
 * and never stops the others or the change that caused the event.
 */
export class DeploymentEmitter {
  readonly #listeners = new Map<DeploymentEvent, Set<(payload: never) => void>>();
  readonly #name: string;
  readonly #logger: Logger;

  constructor(name: string, logger: Logger) {
    this.#name = name;
    this.#logger = logger;
  }

  /** Adds a listener; returns the function that removes it. */
  on<E extends DeploymentEvent>(event: E, listener: DeploymentListener<E>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  /** Calls every listener of `event` in the order they subscribed. */
  emit<E extends DeploymentEvent>(event: E, payload: DeploymentEvents[E]): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        (listener as DeploymentListener<E>)(payload);
      } catch (error) {
        this.#logger.error(`Deployment ${this.#name}: a "${event}" listener threw: ${toModelshipError(error).message}`);
      }
    }
  }
}
