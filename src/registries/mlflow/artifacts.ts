import { redactUrl } from '../../core/redact.js';
import { ModelshipError } from '../../errors/index.js';
import type { MlflowRest } from '../../clients/mlflow/rest.js';

/** A directory of artifacts the adapter can read files from. */
export interface ArtifactDir {
  /** The URI as MLflow gave it, without credentials, for messages. */
  readonly display: string;
  /** The download URL of a file inside the directory (`http(s)://` or `s3://`). */
  fileUrl(relative: string): string;
  /** Whether the URL needs the tracking server's credentials (the artifact proxy does; S3 or presigned URLs do not). */
  readonly authenticated: boolean;
  /** The proxy path of the directory (for listing and uploading), when it is served by the MLflow artifact proxy. */
  readonly proxyPath?: string;
}

const PROXY = '/api/2.0/mlflow-artifacts/artifacts';

const encodePath = (path: string): string =>
  path
    .split('/')
    .filter((s) => s !== '')
    .map(encodeURIComponent)
    .join('/');

const join = (a: string, b: string): string =>
  [a.replace(/\/+$/, ''), b.replace(/^\/+/, '')].filter((s) => s !== '').join('/');

/** The artifact proxy URL of `path` (relative to the server's artifact root). */
export function proxyUrl(trackingUri: string, path: string, host?: string): string {
  const base = host === undefined ? trackingUri.replace(/\/+$/, '') : `${new URL(trackingUri).protocol}//${host}`;
  return `${base}${PROXY}/${encodePath(path)}`;
}

/** The artifact proxy listing URL of the directory `path`. */
export function proxyListUrl(trackingUri: string, path: string): string {
  return `${trackingUri.replace(/\/+$/, '')}${PROXY}?${new URLSearchParams({ path }).toString()}`;
}

/**
 * Turns a model version's download URI into a readable directory. `runs:/<id>/<path>` is resolved through
 * `runs/get` (the server hands these back verbatim), `mlflow-artifacts:/<path>` goes through the server's artifact
 * proxy, `s3://` and `http(s)://` are read directly. Local `file:` paths live on the server's disk and cannot be
 * read from here.
 */
export async function artifactDir(
  uri: string,
  trackingUri: string,
  rest: MlflowRest,
  signal: AbortSignal | undefined,
  depth = 0,
): Promise<ArtifactDir> {
  const display = redactUrl(uri) === '<invalid URL>' ? uri.replace(/[?#].*$/, '') : redactUrl(uri);
  if (uri.startsWith('runs:/')) {
    if (depth > 2) throw new ModelshipError('UNSUPPORTED_MODEL_FORMAT', `${display}: runs:/ URIs point at each other.`);
    const m = /^runs:\/+([^/]+)\/?(.*)$/.exec(uri);
    if (!m)
      throw new ModelshipError(
        'UNSUPPORTED_MODEL_FORMAT',
        `Cannot parse the artifact URI ${display}; expected runs:/<run_id>/<path>.`,
      );
    const { run } = await rest<{ run?: { info?: { artifact_uri?: string } } }>({
      method: 'GET',
      path: 'runs/get',
      query: { run_id: m[1] },
      idempotent: true,
      signal,
    });
    const root = run?.info?.artifact_uri;
    if (root === undefined)
      throw new ModelshipError('REGISTRY_UNAVAILABLE', `MLflow returned no artifact_uri for run ${m[1]}.`, {
        retryable: false,
      });
    return artifactDir(join(root, m[2] ?? ''), trackingUri, rest, signal, depth + 1);
  }
  if (uri.startsWith('mlflow-artifacts:')) {
    const parsed = new URL(uri);
    const path = decodeURIComponent(parsed.pathname);
    const host = parsed.host === '' ? undefined : parsed.host;
    return {
      display,
      authenticated: true,
      ...(host === undefined ? { proxyPath: path.replace(/^\/+/, '') } : {}),
      fileUrl: (relative) => proxyUrl(trackingUri, join(path, relative), host),
    };
  }
  if (/^(s3|https?):\/\//i.test(uri)) {
    return { display, authenticated: false, fileUrl: (relative) => join(uri, encodePath(relative)) };
  }
  throw new ModelshipError(
    'UNSUPPORTED_MODEL_FORMAT',
    `The model's artifacts are at ${display}, which only the MLflow server can read. Start the server with --serve-artifacts (artifact proxy) or store artifacts in S3.`,
    { details: { uri: display } },
  );
}
