import { ModelshipError } from '../errors/index.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration: milliseconds as a number, or text such as `'500ms'`, `'60s'`, `'5m'`, `'1h'`. */
export type Duration = number | string;

/** Milliseconds in `value`; INVALID_OPTIONS for anything else than a non-negative number or `<n>(ms|s|m|h)`. */
export function parseDuration(value: Duration, what = 'duration'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
  } else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(value);
    if (m) return Number(m[1]) * (UNITS[m[2] as string] as number);
  }
  throw new ModelshipError(
    'INVALID_OPTIONS',
    `${what} must be milliseconds or a duration such as "500ms", "60s", "5m" or "1h", got ${JSON.stringify(value)}.`,
  );
}
