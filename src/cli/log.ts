/**
 * The server's log: `text` lines for people (info on stdout, warnings and errors on stderr) or `json` lines
 * in the Elastic Common Schema for collectors, through the library's ECS logger when it has one.
 */
import * as modelship from '../index.node.js';
import type { Logger } from '../index.node.js';
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

/** One ECS line per call, for a library version without `createEcsLogger`. */
function jsonLine(level: string, message: string, args: unknown[]): void {
  const fields = args.find((a) => typeof a === 'object' && a !== null && !(a instanceof Error)) as object | undefined;
  const err = args.find((a): a is Error => a instanceof Error);
  const line = {
    '@timestamp': new Date().toISOString(),
    'log.level': level,
    message,
    'ecs.version': '8.10.0',
    'service.name': 'modelship',
    ...fields,
    ...(err ? { 'error.type': err.name, 'error.message': err.message } : {}),
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** The logger `serve` hands the library and writes its own lines with. */
export function createCliLogger(format: LogFormat): Logger {
  if (format === 'text') return textLogger;
  const factory = Reflect.get(modelship, 'createEcsLogger') as
    ((options: { serviceName?: string }) => Logger) | undefined;
  if (factory !== undefined) return factory({ serviceName: 'modelship' });
  return {
    debug: () => undefined,
    info: (m, ...a) => jsonLine('info', m, a),
    warn: (m, ...a) => jsonLine('warn', m, a),
    error: (m, ...a) => jsonLine('error', m, a),
  };
}

/** Writes a line with fields: pino-style `(fields, message)` to a structured logger, `(message, fields)` otherwise. */
export function logWith(logger: Logger, level: 'info' | 'warn', message: string, fields: object): void {
  if (typeof (logger as { child?: unknown }).child === 'function')
    (logger[level] as unknown as (f: object, m: string) => void)(fields, message);
  else logger[level](message, fields);
}
