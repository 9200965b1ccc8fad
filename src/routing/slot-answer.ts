import { toModelshipError, type ModelshipError } from '../errors/index.js';
import type { VersionedPrediction } from '../serving/servable.js';
import type { VersionSlot } from './version-slot.js';

/** Only server-side failures count against a version; a caller's bad input or deadline says nothing about it. */
export function countsAsFailure(error: ModelshipError): boolean {
  return error.httpStatus >= 500 && error.code !== 'DEADLINE_EXCEEDED';
}

/**
 * What a version answered, and the way back for a failure to send it: a class rather than an object with a
 * closure, so the hot path allocates what it did before (one object per answer).
 */
export class SlotAnswer implements VersionedPrediction {
  readonly outputs: VersionedPrediction['outputs'];
  readonly version: string;
  readonly #slot: VersionSlot;

  constructor(slot: VersionSlot, outputs: VersionedPrediction['outputs']) {
    this.#slot = slot;
    this.outputs = outputs;
    this.version = slot.version;
  }

  /** The success recorded when the version answered becomes an error (if the failure is a server-side one). */
  answerFailed(error: unknown): void {
    if (countsAsFailure(toModelshipError(error))) this.#slot.window.answerFailed();
  }
}
