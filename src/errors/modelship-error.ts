import { ERROR_CODES, type ErrorCode } from './codes.js';

const MARKER = Symbol.for('modelship.error');

/** Options accepted by every modelship error. */
export interface ModelshipErrorOptions {
  /** The underlying error, kept for logs; never sent to HTTP clients. */
  cause?: unknown;
  /** Structured, client-safe facts about the failure (the input path, the expected shape…). */
  details?: Record<string, unknown>;
  /** Overrides the status the code maps to. */
  httpStatus?: number;
  /** Overrides whether the code is retryable. */
  retryable?: boolean;
}

/**
 * The one error type modelship throws. Match on `code`, which is stable across releases.
 *
 * @example
 * ```ts
 * try { await model.predict(input) }
 * catch (e) { if (ModelshipError.isInstance(e) && e.code === 'INVALID_INPUT') console.warn(e.message) }
 * ```
 */
export class ModelshipError extends Error {
  /** Stable, machine-readable code such as `INVALID_INPUT`. */
  readonly code: ErrorCode;
  /** The HTTP status this error maps to. */
  readonly httpStatus: number;
  /** Whether the same call may succeed if retried later. */
  readonly retryable: boolean;
  /** Client-safe structured facts; included in HTTP error bodies. */
  readonly details: Record<string, unknown> | undefined;
  private readonly [MARKER] = true;

  constructor(code: ErrorCode, message: string, options: ModelshipErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ModelshipError';
    this.code = code;
    this.httpStatus = options.httpStatus ?? ERROR_CODES[code].httpStatus;
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable;
    this.details = options.details;
  }

  /**
   * True for any modelship error, even one created by another copy of the package
   * (two versions installed side by side), where `instanceof` would fail.
   */
  static isInstance(value: unknown): value is ModelshipError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }

  /** True when `value` is a modelship error with the given code. */
  static hasCode(value: unknown, code: ErrorCode): value is ModelshipError {
    return ModelshipError.isInstance(value) && value.code === code;
  }

  /** A JSON-safe view: code, message and details. No stack, no cause. */
  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** Wraps anything thrown into a ModelshipError, keeping modelship errors as they are. */
export function toModelshipError(error: unknown, fallback: ErrorCode = 'INTERNAL', message?: string): ModelshipError {
  if (ModelshipError.isInstance(error)) return error;
  if (isAbortError(error)) return new ModelshipError('ABORTED', 'The operation was aborted.', { cause: error });
  const text = message ?? (error instanceof Error ? error.message : String(error));
  return new ModelshipError(fallback, text, { cause: error });
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}
