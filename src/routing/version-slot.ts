import { SlidingWindow } from '../core/routing/index.js';
import type { ServableModel } from '../serving/servable.js';

/** One loaded version inside a deployment: the model, its window, and the requests it still owes an answer. */
export class VersionSlot {
  readonly model: ServableModel;
  /** The reference it was loaded from (`mnist/3`, a remote URL). */
  readonly ref: string;
  readonly window: SlidingWindow;
  #inFlight = 0;
  #idle: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(model: ServableModel, ref: string, windowMs: number, now: () => number) {
    this.model = model;
    this.ref = ref;
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

  /** Waits for every request routed here to settle, then closes the model. Idempotent. */
  retire(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
      await this.model.close();
    })();
    return this.#closing;
  }
}
