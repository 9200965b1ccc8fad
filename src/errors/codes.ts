/**
 * Stable error codes. Never rename one: applications match on them, and HTTP clients see them in bodies.
 * Each code carries the HTTP status it maps to and whether retrying the same call can succeed.
 */
export const ERROR_CODES = {
  MODEL_NOT_FOUND: { httpStatus: 404, retryable: false },
  VERSION_NOT_FOUND: { httpStatus: 404, retryable: false },
  ALIAS_NOT_FOUND: { httpStatus: 404, retryable: false },
  ROUTE_NOT_FOUND: { httpStatus: 404, retryable: false },
  METHOD_NOT_ALLOWED: { httpStatus: 405, retryable: false },
  UNSUPPORTED_MEDIA_TYPE: { httpStatus: 415, retryable: false },
  MALFORMED_REQUEST: { httpStatus: 400, retryable: false },
  INVALID_INPUT: { httpStatus: 400, retryable: false },
  INVALID_REF: { httpStatus: 400, retryable: false },
  INVALID_ARGUMENT: { httpStatus: 400, retryable: false },
  INVALID_OPTIONS: { httpStatus: 500, retryable: false },
  PAYLOAD_TOO_LARGE: { httpStatus: 413, retryable: false },
  INTEGRITY_MISMATCH: { httpStatus: 500, retryable: false },
  MODEL_LOAD_FAILED: { httpStatus: 500, retryable: false },
  INFERENCE_FAILED: { httpStatus: 500, retryable: false },
  ALREADY_EXISTS: { httpStatus: 409, retryable: false },
  NOT_READY: { httpStatus: 503, retryable: true },
  ABORTED: { httpStatus: 499, retryable: false },
  QUEUE_FULL: { httpStatus: 429, retryable: true },
  DEADLINE_EXCEEDED: { httpStatus: 504, retryable: false },
  WORKER_CRASHED: { httpStatus: 503, retryable: true },
  REGISTRY_UNAVAILABLE: { httpStatus: 503, retryable: true },
  REGISTRY_AUTH_FAILED: { httpStatus: 502, retryable: false },
  DOWNLOAD_TOO_LARGE: { httpStatus: 500, retryable: false },
  UNSUPPORTED_MODEL_FORMAT: { httpStatus: 500, retryable: false },
  ARCHIVE_REJECTED: { httpStatus: 500, retryable: false },
  DEPENDENCY_MISSING: { httpStatus: 500, retryable: false },
  ADDRESS_IN_USE: { httpStatus: 500, retryable: false },
  INVALID_PARAM: { httpStatus: 400, retryable: false },
  TRACKING_UNAVAILABLE: { httpStatus: 503, retryable: true },
  TRACKING_REJECTED: { httpStatus: 502, retryable: false },
  UNRESOLVED_POINTER: { httpStatus: 500, retryable: false },
  UNAUTHORIZED: { httpStatus: 401, retryable: false },
  INCOMPATIBLE_SIGNATURE: { httpStatus: 409, retryable: false },
  VALIDATION_FAILED: { httpStatus: 409, retryable: false },
  NOTHING_TO_ROLL_BACK: { httpStatus: 409, retryable: false },
  UPSTREAM_UNAVAILABLE: { httpStatus: 503, retryable: true },
  UPSTREAM_ERROR: { httpStatus: 502, retryable: false },
  INTERNAL: { httpStatus: 500, retryable: false },
} as const satisfies Record<string, { httpStatus: number; retryable: boolean }>;

/** One of modelship's stable error codes. */
export type ErrorCode = keyof typeof ERROR_CODES;
