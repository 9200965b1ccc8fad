/**
 * A URL made safe for error messages and logs: scheme, host and path only. Query strings (presigned URLs carry
 * credentials there), fragments and `user:password@` are dropped. Anything unparsable becomes `<invalid URL>`.
 *
 * @example
 * ```ts
 * redactUrl('https://user:pw@bucket.s3.amazonaws.com/m.onnx?X-Amz-Signature=abc') // 'https://bucket.s3.amazonaws.com/m.onnx'
 * ```
 */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    return '<invalid URL>';
  }
  // Non-special schemes (s3:, mlflow-artifacts:) have an opaque origin of "null", so build it from parts.
  const host = parsed.host === '' ? '' : `//${parsed.host}`;
  return `${parsed.protocol}${host}${parsed.pathname}`;
}
