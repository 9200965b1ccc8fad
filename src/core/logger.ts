/** Where modelship writes operational messages (refused loads, failed warm-ups). Console-compatible. */
export interface Logger {
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
}

const noop = (): void => undefined;

/** The default: warnings and errors go to the console, debug and info are dropped. */
export const defaultLogger: Logger = {
  debug: noop,
  info: noop,
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
