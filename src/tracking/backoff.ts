/** Retry timing for delivering spooled records. */
export interface BackoffPolicy {
  /** First delay, in ms. */
  readonly initialDelayMs: number;
  /** Largest delay, in ms (a `Retry-After` may ask for more, up to `maxRetryAfterMs`). */
  readonly maxDelayMs: number;
  /** Largest `Retry-After` honoured, in ms; a server asking for longer is retried after this. */
  readonly maxRetryAfterMs: number;
}

/**
 * Delay before retry number `attempt` (1-based): exponential, with "equal jitter" (half fixed, half random) so
 * many clients recovering from one outage do not retry in lockstep, yet each still backs off.
 * `random` is injectable for tests.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(exp / 2 + (random() * exp) / 2);
}

/**
 * Parses a `Retry-After` header (delta-seconds or an HTTP date) into ms from `now`; `undefined` when absent or
 * unparsable. A date in the past gives 0.
 */
export function parseRetryAfter(header: string | null | undefined, now: number = Date.now()): number | undefined {
  if (header === null || header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
