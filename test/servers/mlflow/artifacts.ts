/**
 * The `mlflow-artifacts` proxy of an MLflow 2.10 server (`mlflow/server/handlers.py`: `_upload_artifact`,
 * `_download_artifact`, `_list_artifacts`), as the registry test server mounts it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

const PREFIX = '/api/2.0/mlflow-artifacts/artifacts';

/** Handles one artifact proxy request against `artifacts` (path under the artifact root → bytes). */
export function handleArtifacts(
  artifacts: Map<string, Buffer>,
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  query: URLSearchParams,
  raw: Buffer,
  send: (status: number, body: unknown) => void,
): void {
  const rel = decodeURIComponent(pathname.slice(PREFIX.length)).replace(/^\/+/, '');
  if (req.method === 'PUT') {
    // _upload_artifact answers an empty JSON object.
    artifacts.set(rel, raw);
    return send(200, {});
  }
  if (rel === '') {
    // _list_artifacts: `files` with path, is_dir and file_size (files only); the key is left out when empty.
    const dir = (query.get('path') ?? '').replace(/^\/+|\/+$/g, '');
    const prefix = dir === '' ? '' : `${dir}/`;
    const names = new Map<string, { path: string; is_dir: boolean; file_size?: number }>();
    for (const [path, bytes] of artifacts) {
      if (!path.startsWith(prefix)) continue;
      const [head, ...rest] = path.slice(prefix.length).split('/');
      names.set(
        head as string,
        rest.length
          ? { path: head as string, is_dir: true }
          : { path: head as string, is_dir: false, file_size: bytes.length },
      );
    }
    return send(200, names.size ? { files: [...names.values()] } : {});
  }
  const bytes = artifacts.get(rel);
  if (bytes === undefined) {
    // The local artifact repository raises a plain OSError for a missing file, which Flask turns into a 500 page.
    res.writeHead(500, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>500 Internal Server Error</title>');
    return;
  }
  // _download_artifact streams the file (send_file with a generator): chunked, no Content-Length, Range ignored.
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  const half = Math.floor(bytes.length / 2);
  res.write(bytes.subarray(0, half));
  res.end(bytes.subarray(half));
}
