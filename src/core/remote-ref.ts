import { ModelshipError } from '../errors/index.js';

/** A model addressed by URL: `https://…`, `http://…`, `s3://bucket/key` or `gs://bucket/object`, optionally pinned with `#sha256=<hex>`. */
export interface RemoteRef {
  /** The URL to download, without the fragment. */
  readonly url: string;
  readonly scheme: 'http' | 'https' | 's3' | 'gs';
  /** Expected lower-case hex sha256, from a `#sha256=` fragment. */
  readonly sha256?: string;
}

const SCHEME = /^(https?|s3|gs):\/\//i;

/** True for references that are downloadable URLs (`http://`, `https://`, `s3://`, `gs://`). */
export function isRemoteRef(ref: string): boolean {
  return SCHEME.test(ref);
}

/**
 * Parses a URL reference. The fragment may pin the content: `#sha256=<64 hex>`; any other fragment is refused so
 * that a typo does not silently disable verification.
 */
export function parseRemoteRef(ref: string): RemoteRef {
  const bad = (why: string): ModelshipError =>
    new ModelshipError(
      'INVALID_REF',
      `Invalid model URL: ${why}. Use https://host/path/model.onnx, optionally with #sha256=<64 hex digits>, or s3://bucket/key, gs://bucket/object.`,
    );
  const match = SCHEME.exec(ref);
  if (!match) throw bad('expected http://, https://, s3:// or gs://');
  let url: URL;
  try {
    url = new URL(ref);
  } catch {
    throw bad('it does not parse as a URL');
  }
  const scheme = (match[1] as string).toLowerCase() as RemoteRef['scheme'];
  if (url.host === '') throw bad('it has no host (or bucket)');
  if ((scheme === 's3' || scheme === 'gs') && (url.pathname === '' || url.pathname === '/'))
    throw bad(`a ${scheme}:// URL needs a key after the bucket`);
  let sha256: string | undefined;
  if (url.hash !== '') {
    const pin = /^#sha256=([0-9a-fA-F]{64})$/.exec(url.hash);
    if (!pin) throw bad('the only supported fragment is #sha256=<64 hex digits>');
    sha256 = (pin[1] as string).toLowerCase();
    url.hash = '';
  }
  return { url: url.href, scheme, ...(sha256 === undefined ? {} : { sha256 }) };
}
