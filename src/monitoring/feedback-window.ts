/** What became of one feedback call. */
export type FeedbackOutcome = 'joined' | 'unknown' | 'expired' | 'duplicate' | 'invalid';

/** A prediction found for a label. */
export interface JoinedPrediction {
  readonly predicted: number;
  /** Milliseconds from the prediction to its label. */
  readonly delayMs: number;
}

/** Why a prediction left the window without a label. */
export type EvictionReason = 'capacity' | 'age';

/**
 * Predictions waiting for their true label, by request id: a ring of `capacity` slots (oldest first out) plus
 * an id → slot map, so memory is bounded by `capacity` whatever the traffic. Predictions older than `maxAgeMs`
 * leave on the next record. Ids that left recently are remembered (up to `capacity` of them, as strings only)
 * so that a late label is counted `expired` rather than `unknown`.
 */
export class FeedbackWindow {
  readonly #capacity: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #onEvict: (reason: EvictionReason) => void;
  readonly #ids: (string | undefined)[];
  readonly #predicted: Float64Array;
  readonly #at: Float64Array;
  readonly #labelled: Uint8Array;
  readonly #slots = new Map<string, number>();
  #head = 0;
  #size = 0;
  readonly #gone: (string | undefined)[];
  readonly #goneSet = new Set<string>();
  #goneNext = 0;
  #pending = 0;

  constructor(capacity: number, maxAgeMs: number, now: () => number, onEvict: (reason: EvictionReason) => void) {
    this.#capacity = capacity;
    this.#maxAgeMs = maxAgeMs;
    this.#now = now;
    this.#onEvict = onEvict;
    this.#ids = new Array<string | undefined>(capacity);
    this.#predicted = new Float64Array(capacity);
    this.#at = new Float64Array(capacity);
    this.#labelled = new Uint8Array(capacity);
    this.#gone = new Array<string | undefined>(capacity);
  }

  /** Predictions waiting (labelled ones still in the window included, until they leave). */
  get size(): number {
    return this.#size;
  }

  /** Predictions waiting for a label. */
  get pending(): number {
    return this.#pending;
  }

  /** Keeps `predicted` under `id` until its label arrives (a repeated id replaces the older prediction). */
  record(id: string, predicted: number): void {
    const now = this.#now();
    this.#expire(now);
    const previous = this.#slots.get(id);
    if (previous !== undefined) {
      // The same id again (a retry): the newest answer is the one the label is about.
      this.#predicted[previous] = predicted;
      this.#at[previous] = now;
      if (this.#labelled[previous] === 1) this.#pending++;
      this.#labelled[previous] = 0;
      return;
    }
    if (this.#size === this.#capacity) this.#evictOldest('capacity');
    const slot = (this.#head + this.#size) % this.#capacity;
    this.#ids[slot] = id;
    this.#predicted[slot] = predicted;
    this.#at[slot] = now;
    this.#labelled[slot] = 0;
    this.#slots.set(id, slot);
    this.#size++;
    this.#pending++;
  }

  /** The prediction `id` names, marked labelled; or why there is none. */
  take(id: string): JoinedPrediction | Exclude<FeedbackOutcome, 'joined' | 'invalid'> {
    const now = this.#now();
    this.#expire(now);
    const slot = this.#slots.get(id);
    if (slot === undefined) return this.#goneSet.has(id) ? 'expired' : 'unknown';
    if (this.#labelled[slot] === 1) return 'duplicate';
    this.#labelled[slot] = 1;
    this.#pending--;
    return { predicted: this.#predicted[slot] as number, delayMs: now - (this.#at[slot] as number) };
  }

  /** Whether `id` is (or was recently) in this window: a deployment asks each version in turn. */
  knows(id: string): boolean {
    return this.#slots.has(id) || this.#goneSet.has(id);
  }

  #expire(now: number): void {
    const oldest = now - this.#maxAgeMs;
    while (this.#size > 0 && (this.#at[this.#head] as number) < oldest) this.#evictOldest('age');
  }

  #evictOldest(reason: EvictionReason): void {
    const slot = this.#head;
    const id = this.#ids[slot] as string;
    if (this.#labelled[slot] === 0) {
      this.#pending--;
      this.#onEvict(reason);
    }
    this.#slots.delete(id);
    this.#ids[slot] = undefined;
    this.#remember(id);
    this.#head = (this.#head + 1) % this.#capacity;
    this.#size--;
  }

  #remember(id: string): void {
    const old = this.#gone[this.#goneNext];
    if (old !== undefined) this.#goneSet.delete(old);
    this.#gone[this.#goneNext] = id;
    this.#goneSet.add(id);
    this.#goneNext = (this.#goneNext + 1) % this.#capacity;
  }
}
