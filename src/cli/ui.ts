/**
 * How the command talks: colours only on a terminal and never with NO_COLOR (https://no-color.org), errors as
 * `error CODE: message` with what to do next, and the documented exit codes.
 */
import { ModelshipError, toModelshipError } from '../index.node.js';

/** Exit codes (docs/cli.md): 0 done or passed; 1 ran and the answer is no (a failed gate, a refused action); 2 usage, config or infrastructure error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Whether stderr/stdout may carry ANSI colours. */
export function useColor(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

const wrap = (code: number) => (text: string, stream?: NodeJS.WriteStream) =>
  useColor(stream) ? `\u001b[${code}m${text}\u001b[0m` : text;

/** ANSI styles that fall back to plain text (see {@link useColor}). */
export const style = { red: wrap(31), green: wrap(32), yellow: wrap(33), bold: wrap(1), dim: wrap(2) };

/** A failure the command reports with a given exit code (a gate that did not pass is 1, not 2). */
export class CommandFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Prints an error as `error CODE: message` on stderr and returns its exit code. */
export function reportError(error: unknown): number {
  if (error instanceof CommandFailure) {
    process.stderr.write(`${style.red('error', process.stderr)}: ${error.message}\n`);
    return error.exitCode;
  }
  const e = ModelshipError.isInstance(error) ? error : toModelshipError(error);
  process.stderr.write(`${style.red(`error ${e.code}`, process.stderr)}: ${e.message}\n`);
  return EXIT.usage;
}

/** Writes a line to stdout. */
export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Pads columns for a plain table (no borders: readable in CI logs and when piped). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
