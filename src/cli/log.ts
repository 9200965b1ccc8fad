/**
 * The server's log: `text` lines for people (info on stdout, warnings and errors on stderr) or `json` lines
 * in the Elastic Common Schema for collectors (the library's `createEcsLogger`).
 */
import { createEcsLogger, type Logger } from '../index.node.js';
import { style } from './ui.js';

/** `text` or `json`. */
export type LogFormat = 'text' | 'json';

/** What follows the message in a text line: an error's message (never its stack: that is for debugging). */
function tail(args: unknown[]): string {
  const err = args.find((a): a is Error => a instanceof Error);
  return err === undefined ? '' : `: ${err.message}`;
}

const textLogger: Logger = {
  debug: () => undefined,
  info: (message) => process.stdout.write(`${message}\n`),
  warn: (message, ...args) => process.stderr.write(`${style.yellow('warn', process.stderr)} ${message}${tail(args)}\n`),
  error: (message, ...args) => process.stderr.write(`${style.red('error', process.stderr)} ${message}${tail(args)}\n`),
};

/** The logger `serve` hands the library and writes its own lines with. */
export function createCliLogger(format: LogFormat): Logger {
  return format === 'text' ? textLogger : createEcsLogger({ serviceName: 'modelship' });
}

/** Writes a line with fields: pino-style `(fields, message)` to a structured logger, `(message, fields)` otherwise. */
export function logWith(logger: Logger, level: 'info' | 'warn', message: string, fields: object): void {
  if (typeof (logger as { child?: unknown }).child === 'function')
    (logger[level] as unknown as (f: object, m: string) => void)(fields, message);
  else logger[level](message, fields);
}
