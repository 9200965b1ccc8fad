import { toModelshipError, type ErrorCode, type ModelshipError } from '../../errors/index.js';

/** gRPC status codes (grpc/doc/statuscodes.md), numbered as on the wire; grpc-js is not loaded to name them. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/**
 * The status for each code whose meaning has a gRPC name; a code not listed (one added later) falls back on
 * its HTTP status, mapped as Google's HTTP/gRPC table maps them.
 */
const BY_CODE: Partial<Record<ErrorCode, number>> = {
  MODEL_NOT_FOUND: GrpcStatus.NOT_FOUND,
  VERSION_NOT_FOUND: GrpcStatus.NOT_FOUND,
  ALIAS_NOT_FOUND: GrpcStatus.NOT_FOUND,
  ROUTE_NOT_FOUND: GrpcStatus.NOT_FOUND,
  METHOD_NOT_ALLOWED: GrpcStatus.UNIMPLEMENTED,
  INVALID_INPUT: GrpcStatus.INVALID_ARGUMENT,
  MALFORMED_REQUEST: GrpcStatus.INVALID_ARGUMENT,
  INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  INVALID_REF: GrpcStatus.INVALID_ARGUMENT,
  INVALID_PARAM: GrpcStatus.INVALID_ARGUMENT,
  UNSUPPORTED_MEDIA_TYPE: GrpcStatus.INVALID_ARGUMENT,
  PAYLOAD_TOO_LARGE: GrpcStatus.RESOURCE_EXHAUSTED,
  QUEUE_FULL: GrpcStatus.RESOURCE_EXHAUSTED,
  SERVER_BUSY: GrpcStatus.UNAVAILABLE,
  NOT_READY: GrpcStatus.UNAVAILABLE,
  WORKER_CRASHED: GrpcStatus.UNAVAILABLE,
  UPSTREAM_UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  REGISTRY_UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  DEADLINE_EXCEEDED: GrpcStatus.DEADLINE_EXCEEDED,
  REQUEST_TIMEOUT: GrpcStatus.DEADLINE_EXCEEDED,
  ABORTED: GrpcStatus.CANCELLED,
  UNAUTHORIZED: GrpcStatus.UNAUTHENTICATED,
  ALREADY_EXISTS: GrpcStatus.ALREADY_EXISTS,
  INCOMPATIBLE_SIGNATURE: GrpcStatus.FAILED_PRECONDITION,
  VALIDATION_FAILED: GrpcStatus.FAILED_PRECONDITION,
  NOTHING_TO_ROLL_BACK: GrpcStatus.FAILED_PRECONDITION,
};

function byHttpStatus(status: number): number {
  if (status === 400) return GrpcStatus.INVALID_ARGUMENT;
  if (status === 401) return GrpcStatus.UNAUTHENTICATED;
  if (status === 403) return GrpcStatus.PERMISSION_DENIED;
  if (status === 404) return GrpcStatus.NOT_FOUND;
  if (status === 409) return GrpcStatus.FAILED_PRECONDITION;
  if (status === 413 || status === 429) return GrpcStatus.RESOURCE_EXHAUSTED;
  if (status === 499) return GrpcStatus.CANCELLED;
  if (status === 501) return GrpcStatus.UNIMPLEMENTED;
  if (status === 503) return GrpcStatus.UNAVAILABLE;
  if (status === 504) return GrpcStatus.DEADLINE_EXCEEDED;
  return GrpcStatus.INTERNAL;
}

/** The gRPC status code for a modelship error. */
export function grpcStatusOf(error: ModelshipError): number {
  return BY_CODE[error.code] ?? byHttpStatus(error.httpStatus);
}

/** Codes whose message may carry runtime internals: the client gets a generic one, the log the detail. */
const OPAQUE: ReadonlySet<string> = new Set(['INTERNAL', 'INFERENCE_FAILED', 'MODEL_LOAD_FAILED']);
const MAX_MESSAGE_CHARS = 1024;

/** What a failed call sends: the status, a bounded message that says what to do, and modelship's code. */
export interface GrpcFailure {
  readonly error: ModelshipError;
  readonly code: number;
  readonly details: string;
}

/** Turns anything thrown into the status and message a gRPC client gets (never a stack or a path). */
export function toGrpcFailure(thrown: unknown): GrpcFailure {
  const error = toModelshipError(thrown);
  let details = error.message;
  if (OPAQUE.has(error.code)) details = `${error.code}: internal error; the server log has the details.`;
  else if (details.length > MAX_MESSAGE_CHARS) details = `${details.slice(0, MAX_MESSAGE_CHARS)}… (cut)`;
  return { error, code: grpcStatusOf(error), details };
}
