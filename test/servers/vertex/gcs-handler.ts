/**
 * The Cloud Storage JSON API operations modelship and @google-cloud/storage use, as storage.googleapis.com answers:
 * objects.get (metadata: `size` as a decimal string, `md5Hash` and `crc32c` as base64, `generation` as a string),
 * media download with `alt=media` (on `/storage/v1/…` and `/download/storage/v1/…`), objects.list (`prefix`,
 * `maxResults`, `pageToken`; `items` and `nextPageToken` omitted when empty), and media/multipart uploads
 * (`/upload/storage/v1/b/<bucket>/o?uploadType=media|multipart`). Errors are
 * `{"error":{"code","message","errors":[{"message","domain":"global","reason"}]}}` (cloud.google.com/storage/docs/json_api/v1/status-codes).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { crc32c } from '../../../src/clients/gcp/crc32c.js';
import { readBody, sendJson } from '../http-util.js';

export interface GcsObject {
  bytes: Buffer;
  generation: string;
  created: string;
  contentType: string;
  /** What objects.get reports as md5Hash; a test may make it disagree with the bytes (a corrupted transfer). */
  md5Hash?: string;
  crc32c: string;
}

export interface GcsState {
  /** bucket → object name → object. */
  buckets: Map<string, Map<string, GcsObject>>;
  /** Most items objects.list returns in one page (the real service caps at 1000). */
  maxListResults: number;
}

export function createGcsState(buckets: readonly string[] = ['models']): GcsState {
  return { buckets: new Map(buckets.map((b) => [b, new Map()])), maxListResults: 1000 };
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
    crc32c: crc32c().update(bytes).base64(),
  };
  b.set(name, obj);
  return obj;
}

function gcsError(res: ServerResponse, status: number, reason: string, message: string): void {
  sendJson(res, status, { error: { code: status, message, errors: [{ message, domain: 'global', reason }] } });
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

/** Answers GCS JSON API requests; false for paths that are not GCS's. */
export async function handleGcs(
  req: IncomingMessage,
  res: ServerResponse,
  state: GcsState,
  baseUrl: string,
): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://x');
  const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
  if (upload && req.method === 'POST') {
    const bucket = decodeURIComponent(upload[1] as string);
    const body = await readBody(req);
    const b = state.buckets.get(bucket);
    if (b === undefined) return (gcsError(res, 404, 'notFound', 'The specified bucket does not exist.'), true);
    const type = url.searchParams.get('uploadType');
    let name = url.searchParams.get('name') ?? '';
    let bytes = body;
    let contentType = String(req.headers['content-type'] ?? 'application/octet-stream');
    if (type === 'multipart') {
      // multipart/related: a JSON metadata part, then the media part.
      const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
      if (boundary === undefined) return (gcsError(res, 400, 'invalid', 'Missing boundary in multipart upload.'), true);
      const parts = body.toString('latin1').split(`--${boundary}`).slice(1, -1);
      const split = (p: string): [string, string] => {
        const i = p.indexOf('\r\n\r\n');
        return [p.slice(0, i), p.slice(i + 4).replace(/\r\n$/, '')];
      };
      const [, meta] = split(parts[0] ?? '');
      const [mediaHead, media] = split(parts[1] ?? '');
      const metadata = JSON.parse(meta) as { name?: string; contentType?: string };
      name = metadata.name ?? name;
      bytes = Buffer.from(media, 'latin1');
      contentType = metadata.contentType ?? /content-type:\s*(\S+)/i.exec(mediaHead)?.[1] ?? 'application/octet-stream';
    } else if (type !== 'media') {
      return (gcsError(res, 400, 'invalid', `Upload type ${type ?? ''} is not supported by this server.`), true);
    }
    if (name === '') return (gcsError(res, 400, 'required', 'Required'), true);
    const obj = putObject(state, bucket, name, bytes, contentType);
    sendJson(res, 200, resource(baseUrl, bucket, name, obj));
    return true;
  }
  const m = /^\/(download\/)?storage\/v1\/b\/([^/]+)\/o(?:\/(.+))?$/.exec(url.pathname);
  if (!m || req.method !== 'GET') return false;
  const bucket = decodeURIComponent(m[2] as string);
  const b = state.buckets.get(bucket);
  if (b === undefined) return (gcsError(res, 404, 'notFound', 'The specified bucket does not exist.'), true);
  if (m[3] === undefined) {
    const prefix = url.searchParams.get('prefix') ?? '';
    const max = Math.min(Number(url.searchParams.get('maxResults') ?? 1000) || 1000, state.maxListResults);
    const names = [...b.keys()].filter((n) => n.startsWith(prefix)).sort();
    const token = url.searchParams.get('pageToken');
    const start = token === null ? 0 : Number(Buffer.from(token, 'base64').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) return (gcsError(res, 400, 'invalid', 'Invalid page token.'), true);
    const page = names.slice(start, start + max);
    const next = start + max < names.length ? Buffer.from(String(start + max)).toString('base64') : undefined;
    sendJson(res, 200, {
      kind: 'storage#objects',
      ...(next === undefined ? {} : { nextPageToken: next }),
      ...(page.length === 0 ? {} : { items: page.map((n) => resource(baseUrl, bucket, n, b.get(n) as GcsObject)) }),
    });
    return true;
  }
  const name = decodeURIComponent(m[3]);
  const obj = b.get(name);
  if (obj === undefined) return (gcsError(res, 404, 'notFound', `No such object: ${bucket}/${name}`), true);
  if (url.searchParams.get('alt') === 'media') {
    res.writeHead(200, {
      'content-type': obj.contentType,
      'content-length': obj.bytes.length,
      'x-goog-generation': obj.generation,
      'x-goog-hash': `crc32c=${obj.crc32c}${obj.md5Hash === undefined ? '' : `,md5=${obj.md5Hash}`}`,
      'x-goog-stored-content-length': String(obj.bytes.length),
    });
    res.end(obj.bytes);
    return true;
  }
  sendJson(res, 200, resource(baseUrl, bucket, name, obj));
  return true;
}
