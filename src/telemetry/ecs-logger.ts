import { isSpanContextValid, trace } from '@opentelemetry/api';
import { LOG_LEVELS, type Logger, type LogLevel } from '../core/logger.js';
import { parseEcsLoggerOptions, type EcsLoggerOptions } from './ecs-logger-options.js';

export type { EcsLoggerOptions } from './ecs-logger-options.js';

/** The ECS version the lines follow (the one `@elastic/ecs-pino-format` 1.5 writes). */
export const ECS_VERSION = '8.10.0';

/** One level's method: pino's two call forms. */
export interface EcsLogFn {
  /** Fields (or an Error, which becomes `err`) merged into the line, then the message. */
  (fields: object, message?: string, ...args: unknown[]): void;
  /** A message, printf-style; a single Error after it becomes the line's `error.*`. */
  (message: string, ...args: unknown[]): void;
}

/**
 * A logger that writes one Elastic Common Schema JSON line per message, for Filebeat / Elastic Agent → ELK.
 * Pino-compatible: each level takes `(message, ...args)` (printf-style `%s %d %j %o`) or `(fields, message)`,
 * and `child(bindings)` adds fields to every line of the child.
 */
export interface EcsLogger extends Logger {
  debug: EcsLogFn;
  info: EcsLogFn;
  warn: EcsLogFn;
  error: EcsLogFn;
  /** The lowest level written. */
  readonly level: LogLevel;
  /** Whether a line at `level` would be written. */
  isLevelEnabled(level: LogLevel): boolean;
  /** A logger that adds `bindings` to each of its lines (e.g. `{ 'labels.model_name': 'mnist' }`). */
  child(bindings: Record<string, unknown>): EcsLogger;
}

interface Config {
  readonly base: Record<string, unknown>;
  readonly threshold: number;
  readonly level: LogLevel;
  readonly write: (line: string) => void;
  readonly now: () => Date;
}

function defaultWrite(): (line: string) => void {
  const stdout = (globalThis as { process?: { stdout?: { write?: (s: string) => unknown } } }).process?.stdout;
  if (typeof stdout?.write === 'function') return (line) => void stdout.write?.(line);
  // eslint-disable-next-line no-console -- no process (a browser): the console is the only place a line can go
  return (line) => console.log(line.trimEnd());
}

function stringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return '[Circular]';
  }
}

/** printf-style `%s %d %i %f %j %o %O %%`, as pino (quick-format-unescaped) reads them; extra args are dropped. */
function format(message: string, args: readonly unknown[]): string {
  if (args.length === 0 || !message.includes('%')) return message;
  let i = 0;
  return message.replace(/%([sdifjoO%])/g, (whole, kind: string) => {
    if (kind === '%') return '%';
    if (i >= args.length) return whole;
    const arg = args[i++];
    if (kind === 's') return typeof arg === 'string' ? arg : stringify(arg);
    if (kind === 'd' || kind === 'i') return String(kind === 'i' ? Math.trunc(Number(arg)) : Number(arg));
    if (kind === 'f') return String(Number(arg));
    return stringify(arg);
  });
}

/** `error.*` as `@elastic/ecs-helpers` formatError writes it; a non-Error stays as `err`. */
function putError(line: Record<string, unknown>, err: unknown): void {
  if (!(err instanceof Error)) {
    line.err = err;
    return;
  }
  line.error = {
    type: typeof err.constructor === 'function' ? err.constructor.name : err.name,
    message: err.message,
    stack_trace: err.stack,
  };
}

function putTrace(line: Record<string, unknown>): void {
  const span = trace.getActiveSpan();
  if (span === undefined) return;
  const ctx = span.spanContext();
  if (!isSpanContextValid(ctx)) return;
  line['trace.id'] = ctx.traceId;
  line['span.id'] = ctx.spanId;
}

function emit(config: Config, level: LogLevel, first: unknown, rest: readonly unknown[]): void {
  let fields: Record<string, unknown> | undefined;
  let message: string;
  if (typeof first === 'string') {
    // Console-style call with an error after the message (`logger.error('failed', err)`): keep the error.
    const err = rest.length === 1 && rest[0] instanceof Error ? rest[0] : undefined;
    message = err ? first : format(first, rest);
    if (err) fields = { err };
  } else if (first instanceof Error) {
    fields = { err: first };
    message = typeof rest[0] === 'string' ? format(rest[0], rest.slice(1)) : first.message;
  } else {
    fields = typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : undefined;
    message = typeof rest[0] === 'string' ? format(rest[0], rest.slice(1)) : '';
  }
  const line: Record<string, unknown> = { 'log.level': level, '@timestamp': config.now().toISOString() };
  Object.assign(line, config.base);
  putTrace(line);
  if (fields !== undefined) {
    const { err, ...plain } = fields;
    Object.assign(line, plain);
    if (err !== undefined) putError(line, err);
  }
  line.message = message;
  config.write(`${stringify(line)}\n`);
}

function build(config: Config): EcsLogger {
  const at =
    (level: LogLevel) =>
    (first: unknown, ...rest: unknown[]): void => {
      if (LOG_LEVELS[level] >= config.threshold) emit(config, level, first, rest);
    };
  return {
    level: config.level,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    isLevelEnabled: (level) => LOG_LEVELS[level] >= config.threshold,
    child: (bindings) => build({ ...config, base: { ...config.base, ...bindings } }),
  };
}

/**
 * Creates a logger that writes Elastic Common Schema JSON lines — the fields `@elastic/ecs-pino-format` writes
 * (`@timestamp`, `log.level`, `message`, `ecs.version`, `service.name`, `event.dataset`, `process.pid`,
 * `error.type/message/stack_trace`), plus `trace.id` and `span.id` of the active OpenTelemetry span. Pass it
 * as `logger` to `loadModel`, `createDeployment`, `createHandler` and trackers: modelship then adds
 * `labels.model_name`, `labels.model_version`, `error.code`, `event.duration` (ns) and, for access lines,
 * `http.request.method`, `url.path` and `http.response.status_code`. No headers and no bodies are ever logged.
 *
 * @example
 * ```ts
 * const logger = createEcsLogger({ serviceName: 'mnist-api', level: 'info' });
 * const model = await loadModel('mnist@production', { registry, logger });
 * const handler = createHandler({ models: [model], logger, accessLog: { sampleRate: 0.1 } });
 * ```
 */
export function createEcsLogger(options: EcsLoggerOptions = {}): EcsLogger {
  const o = parseEcsLoggerOptions(options);
  const serviceName = o.serviceName ?? 'modelship';
  const pid = (globalThis as { process?: { pid?: number } }).process?.pid;
  const base: Record<string, unknown> = {};
  if (pid !== undefined) base['process.pid'] = pid;
  if (o.hostname !== undefined) base['host.hostname'] = o.hostname;
  base['ecs.version'] = ECS_VERSION;
  base['service.name'] = serviceName;
  if (o.serviceVersion !== undefined) base['service.version'] = o.serviceVersion;
  base['event.dataset'] = o.eventDataset ?? serviceName;
  const level = o.level ?? 'info';
  return build({
    base,
    level,
    threshold: LOG_LEVELS[level],
    write: o.write ?? defaultWrite(),
    now: o.now ?? (() => new Date()),
  });
}
