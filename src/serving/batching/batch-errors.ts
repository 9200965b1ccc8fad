import { ModelshipError } from '../../errors/index.js';

/** `submit` when `maxQueueSize` requests already wait. */
export function queueFullError(queueDepth: number, maxQueueSize: number): ModelshipError {
  return new ModelshipError(
    'QUEUE_FULL',
    `The queue holds ${queueDepth} requests (maxQueueSize ${maxQueueSize}); retry shortly or raise maxQueueSize.`,
    { details: { queueDepth, maxQueueSize } },
  );
}

/** A request's deadline passed, while still `queued` (never reached a worker) or while running. */
export function deadlineError(deadlineMs: number, queued: boolean): ModelshipError {
  return new ModelshipError(
    'DEADLINE_EXCEEDED',
    queued
      ? `The request waited ${deadlineMs} ms in the queue without reaching a worker; it was dropped before inference. The model is saturated: add workers or raise the deadline.`
      : `The request did not finish within its ${deadlineMs} ms deadline.`,
    { details: { deadlineMs, queued } },
  );
}
