import { backoffDelay, type BackoffPolicy } from '../../core/backoff.js';

/** How a pool replaces workers that keep dying. The clock and timer are injectable so tests decide when time passes. */
export interface RespawnPolicy {
  /** Delays between replacements after the second failure in a row (the first is replaced at once). */
  readonly backoff: BackoffPolicy;
  /** Failures in a row after which requests fail fast with `WORKER_CRASHED` while no worker is up. */
  readonly failFastAfter: number;
  /** A worker up this long counts as healthy: its next failure starts the count over. */
  readonly healthyAfterMs: number;
  readonly now: () => number;
  readonly schedule: (fn: () => void, ms: number) => void;
  readonly random: () => number;
}

/**
 * A crash inside a custom op (or a model that kills its thread on load) would otherwise be replaced as fast as
 * a worker starts: a core spent loading the model in a loop, and requests queued behind workers that never
 * come. 100 ms doubling to 30 s keeps a real loop to a few starts a minute while an isolated crash costs
 * nothing; 10 s up counts as healthy, as a crash after that is not a start-up problem.
 */
export const DEFAULT_RESPAWN_POLICY: RespawnPolicy = {
  backoff: { baseMs: 100, maxMs: 30_000 },
  failFastAfter: 3,
  healthyAfterMs: 10_000,
  now: () => performance.now(),
  schedule: (fn, ms) => void setTimeout(fn, ms).unref(),
  random: Math.random,
};

/** What to do after a failure: when to start the next worker, and whether this step is worth a log line. */
export interface RespawnStep {
  /** Failures in a row, this one included. */
  readonly failures: number;
  readonly delayMs: number;
  /** False once the delay has reached its cap and was reported: further failures at the cap stay quiet. */
  readonly report: boolean;
  /** True for the step that reached the cap (the last one reported until the worker recovers). */
  readonly capped: boolean;
}

/** One worker slot's consecutive failures (crashes and failed starts). */
export class CrashLoop {
  readonly #policy: RespawnPolicy;
  #failures = 0;
  #upSince: number | undefined;
  #quiet = false;

  constructor(policy: RespawnPolicy) {
    this.#policy = policy;
  }

  /** A worker of this slot is up (started and warmed). */
  started(): void {
    this.#upSince = this.#policy.now();
  }

  /** True while the failures repeat often enough that waiting for this slot's next worker is pointless. */
  get failingFast(): boolean {
    return this.#failures >= this.#policy.failFastAfter;
  }

  /** Records a crash or a failed start. */
  failed(): RespawnStep {
    const { backoff, healthyAfterMs } = this.#policy;
    if (this.#upSince !== undefined && this.#policy.now() - this.#upSince >= healthyAfterMs) {
      this.#failures = 0;
      this.#quiet = false;
    }
    this.#upSince = undefined;
    const failures = ++this.#failures;
    if (failures === 1) return { failures, delayMs: 0, report: true, capped: false };
    const attempt = failures - 2;
    const capped = backoff.baseMs * 2 ** attempt >= backoff.maxMs;
    const report = !this.#quiet;
    if (capped) this.#quiet = true;
    return {
      failures,
      delayMs: Math.round(backoffDelay(attempt, backoff, undefined, this.#policy.random)),
      report,
      capped: capped && report,
    };
  }
}
