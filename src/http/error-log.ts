import type { ModelshipError } from '../errors/index.js';
import { logLine, type Logger } from '../core/logger.js';
import { recordHttpError } from '../telemetry/http-metrics.js';

/**
 * Codes a client brings about: it hung up, its own deadline passed, it sent its body too slowly. They say
 * nothing about the server's health, and a flood of them (3,000 aborted uploads were 21,000 error-log lines
 * with stacks) would bury the faults that do.
 */
const CLIENT_CAUSED: ReadonlySet<string> = new Set(['ABORTED', 'DEADLINE_EXCEEDED', 'REQUEST_TIMEOUT']);

/**
 * Accounts for an error answer: every one is counted (`modelship.http.errors` by `error.type`); server faults
 * (5xx) are logged at error level with their cause, client-caused ones at debug level, one line, no cause.
 */
export function reportHttpError(error: ModelshipError, logger: Logger): void {
  recordHttpError(error.code);
  if (CLIENT_CAUSED.has(error.code)) logger.debug(`${error.code}: ${error.message}`);
  else if (error.httpStatus >= 500)
    logLine(logger, 'error', `${error.code}: ${error.message}`, {
      err: error.cause ?? error,
      'error.code': error.code,
    });
}
