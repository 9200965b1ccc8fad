/**
 * Runs tasks one at a time, in call order. onnxruntime-web does not support overlapping `run()` calls on one
 * session: with WebGPU the second fails with "Session already started" (the WebAssembly build happens to get
 * through them), so every call on a session goes through one of these, whatever the execution provider.
 *
 * A caller whose signal aborts stops waiting at once: a task that has not started is skipped, one that has
 * started finishes in the background (onnxruntime-web cannot interrupt a run) and the next waits for it.
 */
export class RunQueue {
  #tail: Promise<void> = Promise.resolve();
  /** Tasks started or waiting. */
  #pending = 0;

  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.#pending++;
    const settled = (): void => {
      this.#pending--;
    };
    if (this.#pending === 1 && !signal) {
      // Idle queue, nothing to abort: start at once (the common one-caller case costs no extra promises).
      let result: Promise<T>;
      try {
        result = task();
      } catch (error) {
        settled();
        return Promise.reject(error);
      }
      this.#tail = result.then(settled, settled);
      return result;
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#tail = this.#tail.then(async () => {
        try {
          if (signal?.aborted) return;
          resolve(await task());
        } catch (error) {
          reject(error);
        } finally {
          signal?.removeEventListener('abort', onAbort);
          settled();
        }
      });
    });
  }
}
