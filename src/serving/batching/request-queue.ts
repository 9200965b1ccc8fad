/** Scheduling priority of a request; `high` requests leave the queue before `normal`, `normal` before `low`. */
export type Priority = 'high' | 'normal' | 'low';

const LEVELS: Record<Priority, number> = { high: 0, normal: 1, low: 2 };

/** What the queue needs to know about an entry. */
export interface Queued {
  /** Set once the entry has left the queue (taken for a batch, or dropped on deadline or abort); dropped entries are skipped lazily. */
  dequeued: boolean;
  readonly priority: Priority;
  /** Rows the entry adds to a batch. */
  readonly rows: number;
}

/**
 * FIFO queues per priority level. Entries dropped while queued stay in place and are skipped, so
 * dropping is O(1); `size` counts only live entries.
 */
export class RequestQueue<T extends Queued> {
  readonly #levels: { items: T[]; head: number }[] = [
    { items: [], head: 0 },
    { items: [], head: 0 },
    { items: [], head: 0 },
  ];
  #size = 0;
  #rows = 0;

  get size(): number {
    return this.#size;
  }

  /** Rows of all live entries. */
  get rows(): number {
    return this.#rows;
  }

  push(entry: T): void {
    (this.#levels[LEVELS[entry.priority]] as { items: T[] }).items.push(entry);
    this.#size++;
    this.#rows += entry.rows;
  }

  /** Puts entries back at the front of their level, in the order given. */
  unshift(entries: readonly T[]): void {
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i] as T;
      entry.dequeued = false;
      const level = this.#levels[LEVELS[entry.priority]] as { items: T[]; head: number };
      if (level.head > 0) level.items[--level.head] = entry;
      else level.items.unshift(entry);
      this.#size++;
      this.#rows += entry.rows;
    }
  }

  /** Drops a queued entry; returns false if it had already left the queue. */
  drop(entry: T): boolean {
    if (entry.dequeued) return false;
    entry.dequeued = true;
    this.#size--;
    this.#rows -= entry.rows;
    return true;
  }

  /**
   * Visits live entries in dequeue order (highest priority first, FIFO within a level) until `visit` returns
   * false. A callback rather than a generator: this runs for every batch, and a generator allocates a result
   * object per entry.
   */
  scan(visit: (entry: T) => boolean): void {
    for (const level of this.#levels) {
      for (let i = level.head; i < level.items.length; i++) {
        const entry = level.items[i] as T;
        if (!entry.dequeued && !visit(entry)) return;
      }
    }
  }

  /** The next live entry, without removing it. */
  peek(): T | undefined {
    for (const level of this.#levels) {
      while (level.head < level.items.length && (level.items[level.head] as T).dequeued) level.head++;
      if (level.head < level.items.length) return level.items[level.head];
      this.#compact(level);
    }
    return undefined;
  }

  /** Removes the given live entries (taken for a batch). */
  take(entries: readonly T[]): void {
    for (const e of entries) {
      e.dequeued = true;
      this.#size--;
      this.#rows -= e.rows;
    }
    for (const level of this.#levels) {
      while (level.head < level.items.length && (level.items[level.head] as T).dequeued) level.head++;
      this.#compact(level);
    }
  }

  #compact(level: { items: T[]; head: number }): void {
    if (level.head === level.items.length) {
      level.items.length = 0;
      level.head = 0;
    } else if (level.head > 1024 && level.head * 2 > level.items.length) {
      level.items.splice(0, level.head);
      level.head = 0;
    }
  }
}
