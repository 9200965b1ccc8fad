import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ModelshipError } from '../../errors/index.js';
import { loadStorage } from './storage-sdk.js';

/**
 * Checks a downloaded file against GCS's digests: md5Hash when the object has one, else crc32c (composite objects).
 * Used when the download response carried no `x-goog-hash` the SDK could check (some emulators omit it).
 */
export async function verifyGcsDigest(
  path: string,
  expected: { md5Hash?: string; crc32c?: string },
  what: string,
): Promise<void> {
  if (expected.md5Hash === undefined && expected.crc32c === undefined) return;
  let ok: boolean;
  if (expected.md5Hash !== undefined) {
    const md5 = createHash('md5');
    for await (const chunk of createReadStream(path)) md5.update(chunk as Buffer);
    ok = md5.digest('base64') === expected.md5Hash;
  } else {
    const { CRC32C } = await loadStorage();
    ok = (await CRC32C.fromFile(path)).validate(expected.crc32c as string);
  }
  if (!ok) throw mismatch(what, expected.md5Hash !== undefined ? 'md5' : 'crc32c');
}

/** INTEGRITY_MISMATCH for a download that does not match the digest Cloud Storage recorded. */
export const mismatch = (what: string, kind: 'md5' | 'crc32c', cause?: unknown): ModelshipError =>
  new ModelshipError(
    'INTEGRITY_MISMATCH',
    `The download of ${what} does not match the ${kind} Cloud Storage recorded for it; it was discarded. Retry; if it persists, the object changed while it was read.`,
    { details: { digest: kind }, ...(cause === undefined ? {} : { cause }) },
  );

/**
 * The SDK's download validation needs `x-goog-hash` with the digest and `x-goog-stored-content-encoding` (identity,
 * or gzip served as gzip); without them it silently skips the check, so modelship then checks the file itself.
 */
export function sdkCanValidate(headers: Record<string, unknown>, kind: 'md5' | 'crc32c'): boolean {
  const hash = headers['x-goog-hash'];
  const stored = headers['x-goog-stored-content-encoding'];
  return (
    typeof hash === 'string' &&
    hash.split(',').some((h) => h.trim().startsWith(`${kind}=`)) &&
    (stored === 'identity' || (stored === 'gzip' && headers['content-encoding'] === 'gzip'))
  );
}
