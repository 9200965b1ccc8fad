import { backoffDelay, type BackoffPolicy } from '../../core/backoff.js';
import type { SpoolRecord } from '../records.js';
import { ModelshipError, toModelshipError } from '../../errors/index.js';
import { hasErrnoCode } from '../../platform/node/fs-atomic.js';
import type { Spool } from './spool.js';

/** What a transport gets for one delivery attempt. */
export interface DeliveryContext {
  /** The spool's transport state as a private draft: change it as requests succeed; `commit` persists it. */
  readonly state: Record<string, unknown>;
  readonly spool: Spool;
  /** Aborted when the tracker stops (close timed out). */
  readonly signal: AbortSignal;
  /** Acknowledges records up to `seq` with the current draft state. */
  commit(seq: number): Promise<void>;
  /**
   * Runs one request: resolves true when it succeeded, false when the server refused it for good
   * (TRACKING_REJECTED, reported to `onError`, so delivery goes on with the next records); any other failure is
   * thrown, to be retried from the last commit.
   */
  attempt(task: () => Promise<unknown>): Promise<boolean>;
}

/** Ships records of one spool to a server. */
export interface Transport {
  /**
   * Delivers `records` (consecutive, oldest first), committing as it goes. Throws a retryable error to have
   * the rest retried later from the last commit; whatever it returns without committing is acknowledged.
   */
  deliver(records: readonly SpoolRecord[], context: DeliveryContext): Promise<void>;
}

/** How the flusher batches and retries. */
export interface FlusherOptions {
  readonly transport: Transport;
  /** The one backoff policy (core/backoff.ts), plus the largest `Retry-After` honoured (ms). */
  readonly backoff: BackoffPolicy & { readonly maxRetryAfterMs: number };
  /** Records handed to the transport at once. */
  readonly batchRecords: number;
  /** How long new records wait for company before being sent, unless a flush is asked for. */
  readonly lingerMs: number;
  /** Delivery failures: each failed attempt and each refusal. */
  readonly onError: (error: ModelshipError) => void;
  /** Called when a spool has nothing left to deliver (adopted spools are then removed). */
  readonly onDrained: (spool: Spool) => Promise<void>;
}

/** The background loop that ships spooled records. */
export interface Flusher {
  /** The spools it serves, oldest (adopted) first. */
  readonly spools: Spool[];
  /** Tells the loop there is something new. */
  wake(): void;
  /** Waits until every spool has acknowledged what it held when called, or `timeoutMs` passes; true when done. */
  drain(timeoutMs: number): Promise<boolean>;
  /** Delivers without lingering until `done()` holds or `timeoutMs` passes; resolves with `done()`. */
  waitFor(done: () => boolean, timeoutMs: number): Promise<boolean>;
  /** Stops the loop, aborting a request in flight. */
  stop(): Promise<void>;
}

/** A timer-or-signal wait that `interrupt` cuts short. Timers are unref'd: a waiting tracker keeps no process alive. */
function interruptibleSleep(): { sleep(ms: number): Promise<void>; interrupt(): void } {
  let cancel: (() => void) | undefined;
  return {
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        timer.unref();
        function done(): void {
          clearTimeout(timer);
          cancel = undefined;
          resolve();
        }
        cancel = done;
      }),
    interrupt: () => cancel?.(),
  };
}

/** Starts delivering the given spools' records with `options.transport`. */
export function startFlusher(spools: Spool[], options: FlusherOptions): Flusher {
  const { transport, onError } = options;
  const waiters = new Set<() => void>();
  const sleeper = interruptibleSleep();
  let idle: (() => void) | undefined;
  let urgent = 0;
  let stopped = false;
  let inflight: AbortController | undefined;

  const notify = (): void => {
    for (const w of [...waiters]) w();
  };

  async function deliverOnce(spool: Spool, attempt: number): Promise<number> {
    const records = await spool.next(options.batchRecords);
    if (records.length === 0) {
      await options.onDrained(spool);
      notify();
      return 0;
    }
    const draft = structuredClone(spool.state);
    const controller = new AbortController();
    inflight = controller;
    const last = (records.at(-1) as SpoolRecord).seq;
    try {
      await transport.deliver(records, {
        state: draft,
        spool,
        signal: controller.signal,
        commit: async (seq) => {
          await spool.ack(seq, structuredClone(draft));
          notify();
        },
        attempt: async (task) => {
          try {
            await task();
            return true;
          } catch (error) {
            if (!ModelshipError.hasCode(error, 'TRACKING_REJECTED')) throw error;
            onError(error);
            return false;
          }
        },
      });
      if (spool.ackedSeq < last) await spool.ack(last, structuredClone(draft));
      if (spool.pending() === 0) await options.onDrained(spool);
      notify();
      return 0;
    } catch (error) {
      if (stopped) return attempt;
      // The acknowledgement could not be written (disk full): a spool problem, not the server's.
      const failure = toModelshipError(
        error,
        hasErrnoCode(error, 'ENOSPC', 'EDQUOT', 'EROFS', 'EIO') ? 'SPOOL_WRITE_FAILED' : 'TRACKING_UNAVAILABLE',
      );
      if (failure.code === 'TRACKING_REJECTED') {
        // A refusal the transport did not place: drop the oldest record so delivery cannot stall on it.
        onError(failure);
        await spool.ack(spool.ackedSeq + 1, spool.state).catch(() => undefined);
        notify();
        return 0;
      }
      const next = attempt + 1;
      onError(
        new ModelshipError(failure.code, failure.message, {
          cause: failure.cause ?? failure,
          details: { ...failure.details, attempt: next, pendingRecords: spool.pending() },
          retryable: true,
        }),
      );
      notify();
      const retryAfter = failure.details?.retryAfterMs;
      const delay =
        typeof retryAfter === 'number'
          ? Math.min(retryAfter, options.backoff.maxRetryAfterMs)
          : Math.round(backoffDelay(next - 1, options.backoff));
      await sleeper.sleep(delay);
      return next;
    } finally {
      inflight = undefined;
    }
  }

  async function loop(): Promise<void> {
    let attempt = 0;
    while (!stopped) {
      const spool = spools.find((s) => s.pending() > 0);
      if (spool === undefined) {
        notify();
        await new Promise<void>((resolve) => (idle = resolve));
        idle = undefined;
        continue;
      }
      if (attempt === 0 && urgent === 0 && options.lingerMs > 0 && spool.pending() < options.batchRecords)
        await sleeper.sleep(options.lingerMs);
      if (stopped) break;
      try {
        attempt = await deliverOnce(spool, attempt);
      } catch (error) {
        // Spool I/O failed (disk full, permissions): report and back off like a network failure.
        attempt += 1;
        onError(toModelshipError(error, 'INTERNAL'));
        await sleeper.sleep(Math.round(backoffDelay(attempt - 1, options.backoff)));
      }
    }
  }

  const running = loop();

  /** Delivers without lingering until `done()` holds (checked after every acknowledgement) or `timeoutMs` passes. */
  async function waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return true;
    urgent += 1;
    sleeper.interrupt();
    idle?.();
    try {
      return await new Promise<boolean>((resolve) => {
        const finish = (result: boolean): void => {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(result);
        };
        const check = (): void => {
          if (done()) finish(true);
        };
        const timer = setTimeout(() => finish(done()), timeoutMs);
        waiters.add(check);
      });
    } finally {
      urgent -= 1;
    }
  }

  return {
    spools,
    wake() {
      idle?.();
    },
    drain(timeoutMs) {
      const targets = spools.map((s) => [s, s.lastSeq] as const);
      return waitFor(() => targets.every(([s, target]) => s.ackedSeq >= target || !spools.includes(s)), timeoutMs);
    },
    waitFor,
    async stop() {
      stopped = true;
      inflight?.abort();
      sleeper.interrupt();
      idle?.();
      await running;
    },
  };
}
