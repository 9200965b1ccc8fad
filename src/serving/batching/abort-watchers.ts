import { toModelshipError } from '../../errors/index.js';

/**
 * A request that can wait on an abort signal. What unwatching needs is kept in fields of the request, not in a
 * cleanup closure made per request (docs/performance.md, "Nothing a request allocates outlives it by accident").
 */
export interface AbortWatched<T extends AbortWatched<T>> {
  /** The list of requests waiting on this request's abort signal, while it is linked into it. */
  watchers: Watchers<T> | undefined;
  /** Neighbours in the list of requests waiting on the same abort signal. */
  prevWatcher: T | undefined;
  nextWatcher: T | undefined;
}

/** The requests waiting on one abort signal, as a list threaded through them, and the signal's listener. */
export interface Watchers<T> {
  head: T | undefined;
  readonly onAbort: () => void;
}

/**
 * The abort signals a batcher's requests wait on. One 'abort' listener per signal, however many requests share
 * it (the HTTP server gives every request on a connection the same one): adding and removing an EventTarget
 * listener per request is a measurable share of a small prediction's cost. The requests are kept in a list
 * threaded through them, not a Set: a Set churned by an add and a delete per request cost more in garbage
 * collection than the listener did.
 */
export class AbortWatchers<T extends AbortWatched<T>> {
  readonly #bySignal = new WeakMap<AbortSignal, Watchers<T>>();
  /** The signals listened to, held weakly, so that close() can take the listeners off (see `close`). */
  #signals: WeakRef<AbortSignal>[] = [];
  #pruneAt = 64;
  readonly #onAbort: (request: T, error: unknown) => void;

  /** `onAbort` is called for each request still waiting when its signal aborts. */
  constructor(onAbort: (request: T, error: unknown) => void) {
    this.#onAbort = onAbort;
  }

  /** Links `request` into the list of requests waiting on `signal`. */
  watch(request: T, signal: AbortSignal): void {
    const watchers = this.#watchersOf(signal);
    request.nextWatcher = watchers.head;
    if (watchers.head) watchers.head.prevWatcher = request;
    watchers.head = request;
    request.watchers = watchers;
  }

  /** Unlinks a settled request from its signal's list. */
  unwatch(request: T): void {
    const list = request.watchers;
    if (!list) return;
    const { prevWatcher: prev, nextWatcher: next } = request;
    if (prev) prev.nextWatcher = next;
    else if (list.head === request) list.head = next;
    if (next) next.prevWatcher = prev;
    request.prevWatcher = undefined;
    request.nextWatcher = undefined;
    request.watchers = undefined;
  }

  #watchersOf(signal: AbortSignal): Watchers<T> {
    let watchers = this.#bySignal.get(signal);
    if (!watchers) {
      const list: Watchers<T> = {
        head: undefined,
        onAbort: () => {
          this.#bySignal.delete(signal);
          const error = toModelshipError(signal.reason);
          const pending: T[] = [];
          for (let r = list.head; r; r = r.nextWatcher) pending.push(r);
          for (const request of pending) this.#onAbort(request, error);
        },
      };
      watchers = list;
      this.#bySignal.set(signal, list);
      signal.addEventListener('abort', list.onAbort, { once: true });
      if (this.#signals.length >= this.#pruneAt) {
        // Connections come and go: forget signals that were collected or aborted (their listener went with them).
        this.#signals = this.#signals.filter((ref) => ref.deref()?.aborted === false);
        this.#pruneAt = Math.max(64, this.#signals.length * 2);
      }
      this.#signals.push(new WeakRef(signal));
    }
    return watchers;
  }

  /**
   * Takes the listeners off every signal seen: the signal of a keep-alive connection outlives the model it was
   * used with, and the listener would keep the closed model's batcher alive with it. Requests watched later
   * are watched again.
   */
  close(): void {
    for (const ref of this.#signals) {
      const signal = ref.deref();
      const watchers = signal && this.#bySignal.get(signal);
      if (signal && watchers) {
        signal.removeEventListener('abort', watchers.onAbort);
        this.#bySignal.delete(signal);
      }
    }
    this.#signals = [];
    this.#pruneAt = 64;
  }
}
