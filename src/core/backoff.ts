/** How retries back off: exponential from `baseMs`, capped at `maxMs`, with jitter. */
export interface BackoffPolicy {
  /** Delay before the first retry, before jitter (ms). */
  readonly baseMs: number;
  /** Upper bound of any one delay (ms). */
  readonly maxMs: number;
}

/**
 * The delay before retry number `attempt` (0 for the first retry): `min(maxMs, baseMs · 2^attempt)`, then "equal
 * jitter" (a random point in its upper half) so that many clients failing together do not retry in lockstep, yet
 * never retry immediately. A server's `Retry-After` (ms), when given, is honoured up to `maxMs`. This is the one
 * backoff of modelship: registry calls, the tracker's spool flusher, the worker pool's crash loop, deployments'
 * watch retries and MLflow's registration poll (`random: () => 1`, the ceiling without jitter) all use it.
 *
 * @example
 * ```ts
 * backoffDelay(3, { baseMs: 100, maxMs: 10_000 }); // between 400 and 800 ms
 * ```
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  // The exponent is capped so a loop that retries forever (the spool flusher) never computes 0 · ∞.
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(30, Math.max(0, attempt)));
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > jittered)
    return Math.min(policy.maxMs, retryAfterMs);
  return jittered;
}

/**
 * Parses a `Retry-After` header (delta-seconds or an HTTP date) into ms from `now`; `undefined` when absent or
 * unparsable. A date in the past gives 0.
 *
 * @example
 * ```ts
 * parseRetryAfter('3'); // 3000
 * ```
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
