/** The header a client names its request with; predictions made with monitoring on are kept under it for feedback. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Printable ASCII without spaces, at most 128 characters: anything else is ignored rather than stored. */
const VALID = /^[\x21-\x7e]{1,128}$/;

/** `{ requestId }` for a valid `x-request-id` value, else nothing (a bad id never fails the prediction). */
export function requestIdOption(value: string | null): { requestId?: string } {
  return value !== null && VALID.test(value) ? { requestId: value } : {};
}
