import type { Socket } from 'node:net';
import { ModelshipError } from '../../errors/index.js';

/**
 * The request bytes a server holds at once, over all bodies being read. Without it, three concurrent 6.4 MB
 * bodies stalled `/healthz` for a second and 60 slow near-limit uploads held about 480 MB; with it, a body past
 * the budget is refused before a byte of it is read and the client is told when to come back.
 */
export class BodyBudget {
  /** Bytes held by the bodies being read now (declared lengths, or what arrived if more). */
  inFlight = 0;
  readonly #max: number | undefined;

  /** `max` undefined: four times the per-request limit of each read. */
  constructor(max: number | undefined) {
    this.#max = max;
  }

  /**
   * True when `adding` more bytes keep the server within its budget. A body alone (nothing else in flight but
   * the `own` bytes it already holds) is always let in, so a budget below `maxBodyBytes` cannot refuse every
   * request.
   */
  admits(adding: number, limit: number, own = 0): boolean {
    return this.inFlight === own || this.inFlight + adding <= (this.#max ?? 4 * limit);
  }

  /** The 429 for a body past the budget (QUEUE_FULL: the server is full, retry after a moment). */
  refusal(limit: number): ModelshipError {
    const budget = this.#max ?? 4 * limit;
    return new ModelshipError(
      'QUEUE_FULL',
      `The server is receiving as many request bytes as it takes at once (${budget}); retry in a moment or raise maxInFlightBodyBytes.`,
      { details: { maxInFlightBodyBytes: budget } },
    );
  }
}

/** Marks a socket whose request the server's request timeout cut, so the body reader reports 408, not ABORTED. */
export const REQUEST_TIMED_OUT = Symbol('modelship.requestTimedOut');
export type TimedSocket = Socket & { [REQUEST_TIMED_OUT]?: boolean };

/** The 408 for a request not received in time. */
export function requestTimeout(cause?: unknown): ModelshipError {
  return new ModelshipError(
    'REQUEST_TIMEOUT',
    'The request was not received in time (requestTimeoutMs); send the body at once or raise the timeout.',
    cause === undefined ? {} : { cause },
  );
}
