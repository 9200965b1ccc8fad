import { ModelshipError } from '../errors/index.js';
import { clipName } from './echo.js';

/**
 * Longest deadline accepted, in milliseconds: the largest delay a timer takes (2^31 - 1, about 24.8 days).
 * Past it Node fires the timer at once with a `TimeoutOverflowWarning`, which turned a generous deadline into
 * an immediate `DEADLINE_EXCEEDED`; such values are refused instead.
 */
export const MAX_DEADLINE_MS = 2_147_483_647;

const DECIMAL = /^\d+(\.\d+)?$/;

/**
 * Reads a deadline header (`x-modelship-deadline-ms`): a positive decimal number of milliseconds up to
 * {@link MAX_DEADLINE_MS}. Anything else (negative, `NaN`, `1e400`, `0x10`, past the maximum) is an
 * `INVALID_ARGUMENT` naming the header.
 */
export function parseDeadlineHeader(header: string, value: string): number {
  const text = value.trim();
  const ms = DECIMAL.test(text) ? Number(text) : Number.NaN;
  if (!(ms > 0 && ms <= MAX_DEADLINE_MS)) {
    throw new ModelshipError(
      'INVALID_ARGUMENT',
      `${header} must be a positive decimal number of milliseconds up to ${MAX_DEADLINE_MS}, got ${JSON.stringify(clipName(value))}.`,
      { details: { header, max: MAX_DEADLINE_MS } },
    );
  }
  return ms;
}

/** Refuses a `deadlineMs` option that is not a positive number of milliseconds up to {@link MAX_DEADLINE_MS}. */
export function assertDeadlineMs(deadlineMs: unknown): void {
  if (!(typeof deadlineMs === 'number' && deadlineMs > 0 && deadlineMs <= MAX_DEADLINE_MS)) {
    throw new ModelshipError(
      'INVALID_ARGUMENT',
      `deadlineMs must be a positive number of milliseconds up to ${MAX_DEADLINE_MS}, got ${String(deadlineMs)}.`,
    );
  }
}
