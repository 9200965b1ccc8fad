import { logLine, type Logger, type LogFields } from '../core/logger.js';
import type { BackendEvent } from '../spec/backend.js';

/**
 * Logs what a backend says about its workers: a crash and a replacement that failed to start at error level, a
 * replacement at info level, each with the model's labels (and `error.code` for a crash) for structured loggers.
 */
export function logBackendEvent(logger: Logger, name: string, version: string, event: BackendEvent): void {
  const id = `${name}/${version}`;
  const fields: LogFields = {
    'labels.model_name': name,
    'labels.model_version': version,
    'event.action': event.type,
  };
  if (event.type === 'worker-crashed') {
    logLine(
      logger,
      'error',
      `${id}: ${event.message} Requests it was running failed with WORKER_CRASHED; starting a replacement.`,
      { ...fields, 'error.code': 'WORKER_CRASHED' },
    );
  } else if (event.type === 'worker-restarted') {
    logLine(logger, 'info', `${id}: worker ${event.worker} replaced and warmed up.`, fields);
  } else {
    logLine(
      logger,
      'error',
      `${id}: a replacement for worker ${event.worker} failed to start (${event.message}); ${event.retryInMs === undefined ? 'giving up on it' : `retrying in ${event.retryInMs} ms`}.`,
      fields,
    );
  }
}
