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
 * never retry immediately. A server's `Retry-After` (ms), when given, is honoured up to `maxMs`.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, retryAfterMs?: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt));
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > jittered) return Math.min(policy.maxMs, retryAfterMs);
  return jittered;
}

/** Parses a `Retry-After` header (seconds or an HTTP date) into ms from `now`; `undefined` when absent or invalid. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
