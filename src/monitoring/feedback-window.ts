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
 * Predictions waiting for their true label, by request id: a ring of `capacity` slots (oldest first out), so
 * memory is bounded by `capacity` whatever the traffic. Predictions older than `maxAgeMs` leave on the next call.
 *
 * Ids are found through two generations of id → slot maps of at most `capacity` entries each: a slot that now
 * holds another id means the prediction left (`expired`); an id in neither map is `unknown`. Nothing is deleted
 * per request: when the newer map is full it becomes the older one and the oldest is dropped whole. That keeps
 * a full window at one map insertion per prediction (deleting from a 100 000-entry map per request cost ~3 µs).
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
  #newer = new Map<string, number>();
  #older = new Map<string, number>();
  #head = 0;
  #size = 0;
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
  }

  /** Predictions in the window (labelled ones included, until they leave). */
  get size(): number {
    return this.#size;
  }

  /** Predictions waiting for a label. */
  get pending(): number {
    return this.#pending;
  }

  /** The slot holding `id` now, or -1 when it left (-2 when it was never seen, or too long ago). */
  #slotOf(id: string): number {
    const slot = this.#newer.get(id) ?? this.#older.get(id);
    if (slot === undefined) return -2;
    return this.#ids[slot] === id ? slot : -1;
  }

  /** Keeps `predicted` under `id` until its label arrives (a repeated id replaces the older prediction). */
  record(id: string, predicted: number): void {
    const now = this.#now();
    this.#expire(now);
    const previous = this.#slotOf(id);
    if (previous >= 0) {
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
    if (this.#newer.size >= this.#capacity) {
      this.#older = this.#newer;
      this.#newer = new Map();
    }
    this.#newer.set(id, slot);
    this.#size++;
    this.#pending++;
  }

  /** The prediction `id` names, marked labelled; or why there is none. */
  take(id: string): JoinedPrediction | Exclude<FeedbackOutcome, 'joined' | 'invalid'> {
    const now = this.#now();
    this.#expire(now);
    const slot = this.#slotOf(id);
    if (slot === -2) return 'unknown';
    if (slot === -1) return 'expired';
    if (this.#labelled[slot] === 1) return 'duplicate';
    this.#labelled[slot] = 1;
    this.#pending--;
    return { predicted: this.#predicted[slot] as number, delayMs: now - (this.#at[slot] as number) };
  }

  /** Whether `id` is (or was recently) in this window: a deployment asks each version in turn. */
  knows(id: string): boolean {
    return this.#slotOf(id) !== -2;
  }

  #expire(now: number): void {
    const oldest = now - this.#maxAgeMs;
    while (this.#size > 0 && (this.#at[this.#head] as number) < oldest) this.#evictOldest('age');
  }

  #evictOldest(reason: EvictionReason): void {
    const slot = this.#head;
    if (this.#labelled[slot] === 0) {
      this.#pending--;
      this.#onEvict(reason);
    }
    // The id stays in its map: the slot's new occupant tells a later label that it left.
    this.#ids[slot] = undefined;
    this.#head = (this.#head + 1) % this.#capacity;
    this.#size--;
  }
}
