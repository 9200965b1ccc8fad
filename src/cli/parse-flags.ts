/** Parsers for flag values: a bad value is a usage error (exit 2) that says what a good one looks like. */
import { InvalidArgumentError } from 'commander';

/** A non-negative integer (`--port 8080`, `--workers 2`). */
export function intOption(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('expected a whole number such as 8');
  return Number(value);
}

/** A finite number (`--min-accuracy 0.9`). */
export function numberOption(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number such as 0.95');
  return n;
}

/** A number from 0 to 1. */
export function ratioOption(value: string): number {
  const n = numberOption(value);
  if (n < 0 || n > 1) throw new InvalidArgumentError('expected a number from 0 to 1 such as 0.02');
  return n;
}

const UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** A duration in ms: `2ms`, `0.5ms`, `1s`, `250us`, or a bare number of ms. */
export function durationMsOption(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|m)?\s*$/.exec(value);
  if (m === null) throw new InvalidArgumentError('expected a duration such as 2ms, 0.5ms or 1s');
  return Number(m[1]) * (UNITS[m[2] ?? 'ms'] as number);
}

/** `--canary <ref>=<weight>`: the last `=` splits, so references keep theirs. */
export function canaryOption(value: string): { ref: string; weight: number } {
  const at = value.lastIndexOf('=');
  const ref = value.slice(0, at);
  const weight = at < 0 ? NaN : Number(value.slice(at + 1));
  if (at <= 0 || !(weight >= 0 && weight <= 1))
    throw new InvalidArgumentError('expected <ref>=<weight> with a weight from 0 to 1, e.g. mnist@candidate=0.1');
  return { ref, weight };
}
