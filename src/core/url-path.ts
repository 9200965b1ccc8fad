/**
 * An object-store URL (`s3://`, `gs://`) arrives URL-normalised (spaces, non-ASCII as `%XX`), but object names
 * are literal, as the AWS CLI and gsutil write them: decode each valid `%XX` run, and keep a `%` that starts
 * none (`100%.onnx`) as it is, rather than throwing `URIError` at the caller.
 */
export function decodeObjectPath(path: string): string {
  return path.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}
