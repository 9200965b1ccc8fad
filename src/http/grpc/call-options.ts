import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { MAX_DEADLINE_MS } from '../../core/deadline.js';
import { ModelshipError } from '../../errors/index.js';
import type { Priority } from '../../serving/batching/index.js';
import type { RoutedPredictOptions } from '../../serving/servable.js';
import { PRIORITY_HEADER, ROUTE_KEY_HEADER } from '../route-context.js';

function metadataText(metadata: Metadata, key: string): string | undefined {
  const [value] = metadata.get(key);
  return typeof value === 'string' ? value : undefined;
}

/**
 * The predict options of a gRPC call, as the HTTP routes build them from a request: the call's deadline (the
 * client's `grpc-timeout`) as `deadlineMs`, so a request still queued when it passes is dropped before
 * inference; an abort signal that fires when the client cancels or goes away; and the same priority and
 * routing-key names as the HTTP headers, read from the call's metadata.
 *
 * @param signal aborted by the caller when the call is cancelled
 */
export function callOptions(call: ServerUnaryCall<unknown, unknown>, signal: AbortSignal): RoutedPredictOptions {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  let deadlineMs: number | undefined;
  if (Number.isFinite(at)) {
    const left = at - Date.now();
    if (left <= 0) throw new ModelshipError('DEADLINE_EXCEEDED', 'The call deadline passed before inference started.');
    deadlineMs = Math.min(left, MAX_DEADLINE_MS);
  }
  const priority = metadataText(call.metadata, PRIORITY_HEADER);
  const routingKey = metadataText(call.metadata, ROUTE_KEY_HEADER);
  return {
    signal,
    ...(deadlineMs === undefined ? {} : { deadlineMs }),
    ...(priority === undefined ? {} : { priority: priority.trim().toLowerCase() as Priority }),
    ...(routingKey === undefined || routingKey === '' ? {} : { routingKey }),
  };
}
