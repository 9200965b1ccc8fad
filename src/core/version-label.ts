import { z } from 'zod';
import { ModelshipError } from '../errors/index.js';

// Printable ASCII, no leading or trailing space, at most 128: the label goes out as the x-modelship-version
// header, which cannot carry CR/LF or characters beyond Latin-1 (writing them throws after the answer was made).
const LABEL = /^[\x21-\x7e](?:[\x20-\x7e]{0,126}[\x21-\x7e])?$/;
const WHY =
  'must be 1–128 printable ASCII characters without leading or trailing spaces (it is sent as the x-modelship-version header)';

/** True when `label` can be a version label (and so an HTTP header value). */
export function isVersionLabel(label: unknown): label is string {
  return typeof label === 'string' && LABEL.test(label);
}

/** A version label in option schemas. */
export const versionLabelSchema = z.string().regex(LABEL, `a version label ${WHY}`);

/** Throws `code` unless `label` is a valid version label; `what` says where it came from. */
export function assertVersionLabel(
  label: unknown,
  what: string,
  code: 'MODEL_LOAD_FAILED' | 'UPSTREAM_ERROR',
  hint = '',
): void {
  if (!isVersionLabel(label)) throw new ModelshipError(code, `${what} has a version label that ${WHY}.${hint}`);
}
