import { SlidingWindow } from './policy/index.js';
import type { ServableModel } from '../serving/servable.js';

/** One loaded version inside a deployment: the model, its window, and the requests it still owes an answer. */
export class VersionSlot {
  readonly model: ServableModel;
  /** The reference it was loaded from (`mnist/3`, a remote URL). */
  readonly ref: string;
  /** Names this load in the deployment's state (two loads of one version have two keys). */
  readonly key: string;
  readonly window: SlidingWindow;
  #inFlight = 0;
  #idle: (() => void) | undefined;
  #closing: Promise<void> | undefined;
  /** Per caller signal, the one this version's model is given instead (see `signalFor`). */
  readonly #derived = new WeakMap<AbortSignal, AbortSignal>();
  readonly #onAbort = new WeakMap<AbortSignal, () => void>();
  /** The caller signals listened to, held weakly so that retire() can take the listeners off again. */
  #watched: WeakRef<AbortSignal>[] = [];
  #pruneAt = 64;

  constructor(model: ServableModel, ref: string, windowMs: number, now: () => number, key = ref) {
    this.model = model;
    this.ref = ref;
    this.key = key;
    this.window = new SlidingWindow(windowMs, now);
  }

  get version(): string {
    return this.model.version;
  }

  get retired(): boolean {
    return this.#closing !== undefined;
  }

  /** Counts a request this version accepted; call the returned function once it settled. */
  enter(): () => void {
    this.#inFlight++;
    return () => {
      if (--this.#inFlight === 0) this.#idle?.();
    };
  }

  /**
   * The abort signal to give this version's model for a caller's `signal`: one per caller signal and version,
   * following it, with its listener taken off the caller's signal when the version retires. The HTTP server
   * gives every request on a keep-alive connection the same signal, and a model listens to each signal it sees
   * once and for good (the batcher); without this, every version swapped in while a connection lived left a
   * listener on it, holding the retired version, until Node warned (MaxListenersExceededWarning) after ten.
   */
  signalFor(signal: AbortSignal): AbortSignal {
    const known = this.#derived.get(signal);
    if (known !== undefined || signal.aborted || this.#closing !== undefined) return known ?? signal;
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    this.#derived.set(signal, controller.signal);
    this.#onAbort.set(signal, onAbort);
    if (this.#watched.length >= this.#pruneAt) {
      // Connections come and go: forget signals that were collected or aborted (their listener went with them).
      this.#watched = this.#watched.filter((ref) => ref.deref()?.aborted === false);
      this.#pruneAt = Math.max(64, this.#watched.length * 2);
    }
    this.#watched.push(new WeakRef(signal));
    return controller.signal;
  }

  /** Waits for every request routed here to settle, then closes the model. Idempotent. */
  retire(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
      for (const ref of this.#watched) {
        const signal = ref.deref();
        const onAbort = signal && this.#onAbort.get(signal);
        if (signal && onAbort) signal.removeEventListener('abort', onAbort);
      }
      this.#watched = [];
      await this.model.close();
    })();
    return this.#closing;
  }
}
