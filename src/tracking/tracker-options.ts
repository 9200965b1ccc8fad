import { z } from 'zod';
import { defaultLogger, isLogger, logLine, type Logger } from '../core/logger.js';
import type { ModelshipError } from '../errors/index.js';

/** Options every tracker takes: where errors and messages go. */
export const trackerOptionsShape = {
  /** Receives what fails in the background (delivery, disk writes); it is never thrown at a logging call. */
  onError: z
    .custom<(error: ModelshipError) => void>((v) => typeof v === 'function', 'onError must be a function')
    .optional(),
  /** Where warnings go when there is no `onError` (default: the console, warnings and errors only). */
  logger: z.custom<Logger>(isLogger, 'logger must have debug, info, warn and error methods').optional(),
};

/**
 * The error sink of a tracker: its `onError` (guarded, so a throwing handler cannot stop delivery), else its
 * logger, rate-limited during an outage to the first failure and every tenth.
 */
export function createReporter(options: {
  onError?: ((error: ModelshipError) => void) | undefined;
  logger?: Logger | undefined;
}): (error: ModelshipError) => void {
  if (options.onError !== undefined) {
    const handler = options.onError;
    return (error) => {
      try {
        handler(error);
      } catch {
        // A throwing handler must not stop delivery.
      }
    };
  }
  const logger = options.logger ?? defaultLogger;
  return (error) => {
    const attempt = error.details?.attempt;
    // During an outage, the first failure and every tenth are enough to see what is going on.
    if (typeof attempt === 'number' && attempt !== 1 && attempt % 10 !== 0) return;
    logLine(logger, 'warn', `tracker: ${error.message}`, {
      'event.dataset': 'modelship.tracker',
      'error.code': error.code,
    });
  };
}
