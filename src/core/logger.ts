/**
 * Where modelship writes operational messages (refused loads, failed warm-ups, server faults, access lines).
 * Console-compatible, and pino-compatible: `console`, a pino (or bunyan/winston) logger, or the ECS JSON logger
 * (`createEcsLogger`) all fit.
 *
 * How modelship calls it: a logger with a `child` method (pino and friends) is called pino-style,
 * `logger.warn(fields, message)`, so its JSON lines carry the fields (`err`, `labels.model_name`,
 * `event.duration`, …); any other logger is called console-style, `logger.warn(message)` or
 * `logger.error(message, cause)`.
 */
export interface Logger {
  /** Details for troubleshooting (batching decisions, clients that hung up). */
  debug(message: string, ...args: unknown[]): void;
  /** Lifecycle news (a model is ready, a deployment changed). */
  info(message: string, ...args: unknown[]): void;
  /** Something degraded but still working (served from the cache during an outage, a fallback taken). */
  warn(message: string, ...args: unknown[]): void;
  /** A failure someone should look at (a server fault answered 5xx, a worker that keeps crashing). */
  error(message: string, ...args: unknown[]): void;
}

/** The four levels modelship logs at, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Numeric order of the levels (pino's numbers), for level thresholds. */
export const LOG_LEVELS: Readonly<Record<LogLevel, number>> = { debug: 20, info: 30, warn: 40, error: 50 };

/**
 * Structured fields of a log line, named as the Elastic Common Schema names them (dotted keys), plus pino's
 * `err` for an error (pino's serializer and `@elastic/ecs-pino-format` turn it into `error.*`). Values are
 * strings, numbers or booleans; `err` is any thrown value.
 */
export interface LogFields {
  /** The error behind the message; becomes `error.type`, `error.message`, `error.stack_trace`. */
  readonly err?: unknown;
  /** A stable error code (`ModelshipError.code`). */
  readonly 'error.code'?: string;
  /** What kind of line it is, e.g. `modelship.access`; defaults to the logger's dataset. */
  readonly 'event.dataset'?: string;
  /** How long the logged thing took, in nanoseconds (ECS). */
  readonly 'event.duration'?: number;
  readonly 'labels.model_name'?: string;
  readonly 'labels.model_version'?: string;
  readonly 'labels.deployment_name'?: string;
  readonly 'http.request.method'?: string;
  readonly 'url.path'?: string;
  readonly 'http.response.status_code'?: number;
  readonly [key: string]: unknown;
}

const noop = (): void => undefined;

/** The default: warnings and errors go to the console, debug and info are dropped. */
export const defaultLogger: Logger = {
  debug: noop,
  info: noop,
  // The one place modelship writes to the console (eslint allows it here only).
  warn: (message, ...args) => console.warn(`[modelship] ${message}`, ...args),
  error: (message, ...args) => console.error(`[modelship] ${message}`, ...args),
};

/** A logger that drops everything. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** True for an object with the four Logger methods (what options schemas accept as `logger`). */
export function isLogger(value: unknown): value is Logger {
  return (
    typeof value === 'object' &&
    value !== null &&
    ['debug', 'info', 'warn', 'error'].every((k) => typeof (value as Record<string, unknown>)[k] === 'function')
  );
}

/** pino, bunyan, winston and `createEcsLogger` have `child`; console and hand-written loggers do not. */
function isStructured(logger: Logger): boolean {
  return typeof (logger as { child?: unknown }).child === 'function';
}

/**
 * Writes one line through any logger: pino-style `(fields, message)` to a structured logger, console-style
 * `(message)` — or `(message, err)` when there is an error — to any other, so `console`, test loggers that
 * collect messages and pino all read naturally.
 *
 * @example
 * ```ts
 * logLine(logger, 'warn', 'Model mnist 3: warm-up failed.', { err, 'labels.model_name': 'mnist' });
 * ```
 */
export function logLine(logger: Logger, level: LogLevel, message: string, fields?: LogFields): void {
  if (fields !== undefined && isStructured(logger)) {
    (logger[level] as unknown as (fields: LogFields, message: string) => void)(fields, message);
  } else if (fields?.err !== undefined) {
    logger[level](message, fields.err);
  } else {
    logger[level](message);
  }
}
