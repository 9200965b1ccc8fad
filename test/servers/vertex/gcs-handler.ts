/**
 * The Cloud Storage JSON API operations modelship and @google-cloud/storage use, as storage.googleapis.com answers
 * (cloud.google.com/storage/docs/json_api/v1):
 * - objects.get metadata (`size` as a decimal string, `md5Hash` and `crc32c` as base64, `generation` as a string;
 *   `md5Hash` absent for composite objects), and `?generation=` for one generation (404 when it is not the live one,
 *   as in a bucket without versioning);
 * - media download with `alt=media` (on `/storage/v1/…` and `/download/storage/v1/…`): `x-goog-hash:
 *   crc32c=…,md5=…` and `x-goog-stored-content-encoding: identity` (the SDK validates only when both are there),
 *   `x-goog-generation`; `Range: bytes=a-b` → 206 with `Content-Range` (the hashes stay the whole object's), an
 *   unsatisfiable range → 416 (json_api/v1/status-codes, "416 Requested range not satisfiable");
 * - objects.list (`prefix`, `maxResults`, `pageToken`; `items` and `nextPageToken` omitted when empty);
 * - uploads: media, multipart and resumable (gcs-upload.ts).
 * The same routes answer without the `/storage/v1` prefix: @google-cloud/storage for Node uses
 * `$STORAGE_EMULATOR_HOST` itself as the API base (`<host>/b/…`), and emulators such as fake-gcs-server serve both.
 * Errors are `{"error":{"code","message","errors":[{"message","domain":"global","reason"}]}}` (json_api/v1/status-codes):
 * 404 `notFound` ("No such object: <bucket>/<name>"), 429 `rateLimitExceeded`, 503 `backendError`, from `faults`
 * (matched against the decoded path, so `/o/dir/name` matches an object named `dir/name`).
 * Authentication (401/403) is checked by server.ts before this handler.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { takeFault, type Fault } from '../faults.js';
import { sendJson } from '../http-util.js';
import { crc32cOf, handleUpload, type UploadSession } from './gcs-upload.js';

/** One stored object (its live generation). */
export interface GcsObject {
  bytes: Buffer;
  generation: string;
  created: string;
  contentType: string;
  /** What objects.get reports as md5Hash; a test may make it disagree with the bytes (a corrupted transfer). */
  md5Hash?: string;
  crc32c: string;
  /** Bytes a media download sends instead of `bytes` (a transfer corrupted on the way); the hashes stay the real ones. */
  served?: Buffer;
}

/** The server's buckets, and the knobs tests turn to make it misbehave. */
export interface GcsState {
  /** bucket → object name → object. */
  buckets: Map<string, Map<string, GcsObject>>;
  /** Most items objects.list returns in one page (the real service caps at 1000). */
  maxListResults: number;
  /** Canned 429/503 answers for matching paths (after authentication). */
  faults: Fault[];
  /** Every request answered: method, path, `uploadType` if any, status. */
  requests: { method: string; path: string; uploadType?: string; status: number }[];
  /** Resumable upload sessions by upload_id. */
  sessions: Map<string, UploadSession>;
  /** Answer media downloads without `x-goog-hash` (as some emulators do), so the SDK cannot validate them. */
  omitHashHeaders: boolean;
  /** Media downloads send half the body, then nothing more (a stalled connection), until the server stops. */
  stallMedia: boolean;
  /** objects.get answers 200 with an HTML page (a captive portal or misconfigured proxy in between). */
  htmlMetadata: boolean;
}

/** Empty buckets with the given names, answering normally. */
export function createGcsState(buckets: readonly string[] = ['models']): GcsState {
  return {
    buckets: new Map(buckets.map((b) => [b, new Map()])),
    maxListResults: 1000,
    faults: [],
    requests: [],
    sessions: new Map(),
    omitHashHeaders: false,
    stallMedia: false,
    htmlMetadata: false,
  };
}

let generation = 1_700_000_000_000_000;

/** Stores an object as an upload would (fresh generation, digests computed). */
export function putObject(
  state: GcsState,
  bucket: string,
  name: string,
  bytes: Buffer,
  contentType = 'application/octet-stream',
): GcsObject {
  const b = state.buckets.get(bucket);
  if (b === undefined) throw new Error(`no bucket ${bucket}`);
  const obj: GcsObject = {
    bytes,
    generation: String(++generation),
    created: new Date().toISOString(),
    contentType,
    md5Hash: createHash('md5').update(bytes).digest('base64'),
    crc32c: crc32cOf(bytes),
  };
  b.set(name, obj);
  return obj;
}

function resource(baseUrl: string, bucket: string, name: string, o: GcsObject): Record<string, unknown> {
  const enc = encodeURIComponent(name);
  return {
    kind: 'storage#object',
    id: `${bucket}/${name}/${o.generation}`,
    selfLink: `${baseUrl}/storage/v1/b/${bucket}/o/${enc}`,
    mediaLink: `${baseUrl}/download/storage/v1/b/${bucket}/o/${enc}?generation=${o.generation}&alt=media`,
    name,
    bucket,
    generation: o.generation,
    metageneration: '1',
    contentType: o.contentType,
    storageClass: 'STANDARD',
    size: String(o.bytes.length),
    ...(o.md5Hash === undefined ? {} : { md5Hash: o.md5Hash }),
    crc32c: o.crc32c,
    etag: 'CKih16GjycICEAE=',
    timeCreated: o.created,
    updated: o.created,
  };
}

const FAULT_TEXT: Record<number, [string, string]> = {
  429: [
    'rateLimitExceeded',
    'The total number of requests exceeded the rate limit. Please retry with exponential backoff.',
  ],
  503: ['backendError', 'We encountered an internal error. Please try again.'],
};

function sendMedia(req: IncomingMessage, res: ServerResponse, state: GcsState, obj: GcsObject): number {
  const body = obj.served ?? obj.bytes;
  const headers: Record<string, string | number> = {
    'content-type': obj.contentType,
    'x-goog-generation': obj.generation,
    'x-goog-metageneration': '1',
    'x-goog-stored-content-encoding': 'identity',
    'x-goog-stored-content-length': String(obj.bytes.length),
    'accept-ranges': 'bytes',
  };
  if (!state.omitHashHeaders)
    headers['x-goog-hash'] = `crc32c=${obj.crc32c}${obj.md5Hash === undefined ? '' : `,md5=${obj.md5Hash}`}`;
  const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ''));
  if (range !== null && (range[1] !== '' || range[2] !== '')) {
    const size = body.length;
    // bytes=a-b, bytes=a- (to the end) or bytes=-n (the last n bytes), as RFC 9110 §14.1.2.
    const start = range[1] === '' ? Math.max(0, size - Number(range[2])) : Number(range[1]);
    const end = range[1] === '' || range[2] === '' ? size - 1 : Math.min(Number(range[2]), size - 1);
    if (start >= size || start > end) {
      const message = 'The requested range cannot be satisfied.';
      res.setHeader('content-range', `bytes */${size}`);
      sendJson(res, 416, {
        error: { code: 416, message, errors: [{ message, domain: 'global', reason: 'requestedRangeNotSatisfiable' }] },
      });
      return 416;
    }
    res.writeHead(206, {
      ...headers,
      'content-range': `bytes ${start}-${end}/${size}`,
      'content-length': end - start + 1,
    });
    res.end(body.subarray(start, end + 1));
    return 206;
  }
  res.writeHead(200, { ...headers, 'content-length': body.length });
  if (state.stallMedia) res.write(body.subarray(0, body.length >> 1));
  else res.end(body);
  return 200;
}

/**
 * Cloud Storage's own 401/403 bodies (json_api/v1/status-codes): no `Authorization` → 401 `required` "Login
 * Required"; a token it does not accept → 401 `authError` "Invalid Credentials"; an account without the role → 403
 * `forbidden` naming the permission. The 401s point at the header (`locationType`, `location`).
 */
export function gcsAuthError(req: IncomingMessage, res: ServerResponse, state: GcsState, status: 401 | 403): true {
  const url = new URL(req.url ?? '/', 'http://x');
  const header = { locationType: 'header', location: 'Authorization' };
  const [reason, message, where] =
    status === 403
      ? [
          'forbidden',
          "The caller does not have storage.objects.get access to the Google Cloud Storage object. Permission 'storage.objects.get' denied on resource (or it may not exist).",
          {},
        ]
      : req.headers.authorization === undefined
        ? ['required', 'Login Required', header]
        : ['authError', 'Invalid Credentials', header];
  sendJson(res, status, {
    error: { errors: [{ domain: 'global', reason, message, ...where }], code: status, message },
  });
  state.requests.push({ method: req.method ?? 'GET', path: url.pathname, status });
  return true;
}

/** Answers GCS JSON API requests; false for paths that are not GCS's. */
export async function handleGcs(
  req: IncomingMessage,
  res: ServerResponse,
  state: GcsState,
  baseUrl: string,
): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://x');
  const method = req.method ?? 'GET';
  const uploadType = url.searchParams.get('uploadType') ?? undefined;
  const log = (status: number): true => {
    state.requests.push({ method, path: url.pathname, ...(uploadType === undefined ? {} : { uploadType }), status });
    return true;
  };
  const fail = (status: number, reason: string, message: string): true => {
    sendJson(res, status, { error: { code: status, message, errors: [{ message, domain: 'global', reason }] } });
    return log(status);
  };
  const objects = /^(?:\/download)?(?:\/storage\/v1)?\/b\/([^/]+)\/o(?:\/(.+))?$/.exec(url.pathname);
  const upload = url.pathname.startsWith('/upload/storage/v1/b/');
  if (objects === null && !upload) return false;
  const fault = takeFault(state.faults, decodeURIComponent(url.pathname));
  if (fault !== undefined) {
    if (fault.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(fault.retryAfterSeconds));
    const [reason, message] = FAULT_TEXT[fault.status] ?? ['backendError', 'Backend Error'];
    return fail(fault.status, reason, message);
  }
  if (upload)
    return handleUpload(req, res, url, {
      buckets: new Set(state.buckets.keys()),
      sessions: state.sessions,
      base: baseUrl,
      fail,
      log,
      store: (u) => {
        const obj = putObject(state, u.bucket, u.name, u.bytes, u.contentType);
        sendJson(res, 200, resource(baseUrl, u.bucket, u.name, obj));
        return log(200);
      },
    });
  if (objects === null || method !== 'GET') return false;
  const bucket = decodeURIComponent(objects[1] as string);
  const b = state.buckets.get(bucket);
  if (b === undefined) return fail(404, 'notFound', 'The specified bucket does not exist.');
  if (objects[2] === undefined) {
    const prefix = url.searchParams.get('prefix') ?? '';
    const max = Math.min(Number(url.searchParams.get('maxResults') ?? 1000) || 1000, state.maxListResults);
    const names = [...b.keys()].filter((n) => n.startsWith(prefix)).sort();
    const token = url.searchParams.get('pageToken');
    const start = token === null ? 0 : Number(Buffer.from(token, 'base64').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) return fail(400, 'invalid', 'Invalid page token.');
    const page = names.slice(start, start + max);
    const next = start + max < names.length ? Buffer.from(String(start + max)).toString('base64') : undefined;
    sendJson(res, 200, {
      kind: 'storage#objects',
      ...(next === undefined ? {} : { nextPageToken: next }),
      ...(page.length === 0 ? {} : { items: page.map((n) => resource(baseUrl, bucket, n, b.get(n) as GcsObject)) }),
    });
    return log(200);
  }
  const name = decodeURIComponent(objects[2]);
  const obj = b.get(name);
  const wanted = url.searchParams.get('generation');
  if (obj === undefined || (wanted !== null && wanted !== obj.generation))
    return fail(404, 'notFound', `No such object: ${bucket}/${name}`);
  if (url.searchParams.get('alt') === 'media') return log(sendMedia(req, res, state, obj));
  if (state.htmlMetadata) {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html><body>Sign in to the network</body></html>');
    return log(200);
  }
  sendJson(res, 200, resource(baseUrl, bucket, name, obj));
  return log(200);
}
