/**
 * Cloud Storage JSON API uploads (`POST /upload/storage/v1/b/<bucket>/o?uploadType=…`), as storage.googleapis.com
 * answers them (cloud.google.com/storage/docs/uploads-downloads, json_api/v1/objects/insert):
 * - `media`: the body is the object, `name` in the query;
 * - `multipart`: `multipart/related`, a JSON metadata part then the media part (what @google-cloud/storage sends
 *   with `resumable: false`);
 * - `resumable`: the POST (JSON metadata, `X-Upload-Content-Type`) answers 200 with the session URI in `Location`;
 *   each `PUT <session>` carries `Content-Range: bytes a-b/total` (total `*` while unknown) and is answered
 *   308 Resume Incomplete with `Range: bytes=0-<last>` (no Range before the first byte) until the last chunk, which
 *   gets 200 and the object resource; `Content-Range: bytes *\/total` asks for the status
 *   (performing-resumable-uploads, "Check the status of a resumable upload").
 * A `md5Hash` or `crc32c` given in the metadata is checked against the bytes: 400 when they differ, nothing stored
 * ("Provided MD5 hash … doesn't match calculated MD5 hash …", json_api/v1/objects/insert and hashes docs).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CRC32C } from '@google-cloud/storage';
import { readBody } from '../http-util.js';

/** Answers an error in GCS's JSON shape. */
export type GcsFail = (status: number, reason: string, message: string) => true;

interface Metadata {
  name?: string;
  contentType?: string;
  md5Hash?: string;
  crc32c?: string;
}

/** A resumable upload in progress. */
export interface UploadSession {
  bucket: string;
  metadata: Metadata;
  received: Buffer;
}

/** What a finished upload stores (the caller makes the object and answers with its resource). */
export interface Uploaded {
  bucket: string;
  name: string;
  bytes: Buffer;
  contentType: string;
}

/** The base64 CRC32C Cloud Storage reports for `bytes` (the SDK's own implementation). */
export const crc32cOf = (bytes: Buffer): string => {
  const c = new CRC32C();
  c.update(bytes);
  return c.toString();
};

function parseMultipart(body: Buffer, contentType: string): { metadata: Metadata; bytes: Buffer; type?: string } {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (boundary === undefined) throw new Error('Missing boundary in multipart upload.');
  const parts = body.toString('latin1').split(`--${boundary}`).slice(1, -1);
  const split = (p: string): [string, string] => {
    const i = p.indexOf('\r\n\r\n');
    return [p.slice(0, i), p.slice(i + 4).replace(/\r\n$/, '')];
  };
  const [, meta] = split(parts[0] ?? '');
  const [mediaHead, media] = split(parts[1] ?? '');
  const type = /content-type:\s*(\S+)/i.exec(mediaHead)?.[1];
  return {
    metadata: JSON.parse(meta) as Metadata,
    bytes: Buffer.from(media, 'latin1'),
    ...(type === undefined ? {} : { type }),
  };
}

/** The 400 a metadata digest that does not match the bytes gets; undefined when they agree. */
function digestMismatch(metadata: Metadata, bytes: Buffer): string | undefined {
  const md5 = createHash('md5').update(bytes).digest('base64');
  if (metadata.md5Hash !== undefined && metadata.md5Hash !== md5)
    return `Provided MD5 hash "${metadata.md5Hash}" doesn't match calculated MD5 hash "${md5}".`;
  const crc = crc32cOf(bytes);
  if (metadata.crc32c !== undefined && metadata.crc32c !== crc)
    return `Provided CRC32C "${metadata.crc32c}" doesn't match calculated CRC32C "${crc}".`;
  return undefined;
}

/**
 * Handles the upload endpoints. Calls `store` with a finished upload (it answers 200 with the resource); answers
 * everything else itself. `sessions` holds resumable uploads by id; `base` is the server's URL for `Location`.
 */
export async function handleUpload(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  opts: {
    readonly buckets: ReadonlySet<string>;
    readonly sessions: Map<string, UploadSession>;
    readonly base: string;
    readonly fail: GcsFail;
    readonly store: (u: Uploaded) => true;
    /** Records an answer this handler wrote itself (the session's 200 and the 308s). */
    readonly log: (status: number) => true;
  },
): Promise<boolean> {
  const { fail, sessions } = opts;
  const insert = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
  if (!insert) return false;
  const type = url.searchParams.get('uploadType');
  const sessionId = url.searchParams.get('upload_id');
  if (req.method === 'PUT' && type === 'resumable' && sessionId !== null) {
    const session = sessions.get(sessionId);
    // An unknown or finished session: 404 (the docs' "the upload session has expired" case answers 404/410).
    if (session === undefined) return fail(404, 'notFound', 'No such upload session.');
    const chunk = await readBody(req);
    const range = /^bytes (\*|(\d+)-(\d+))\/(\*|\d+)$/.exec(String(req.headers['content-range'] ?? ''));
    if (range === null && chunk.length > 0) return fail(400, 'invalid', 'Invalid Content-Range header.');
    if (range !== null && range[2] !== undefined) {
      if (Number(range[2]) !== session.received.length)
        return fail(400, 'invalid', 'Invalid request. The Content-Range header does not match the bytes received.');
      session.received = Buffer.concat([session.received, chunk]);
    }
    const total = range?.[4];
    if (total !== undefined && total !== '*' && Number(total) === session.received.length) {
      sessions.delete(sessionId);
      const bad = digestMismatch(session.metadata, session.received);
      if (bad !== undefined) return fail(400, 'invalid', bad);
      return opts.store({
        bucket: session.bucket,
        name: session.metadata.name ?? '',
        bytes: session.received,
        contentType: session.metadata.contentType ?? 'application/octet-stream',
      });
    }
    // 308 Resume Incomplete; Range names the bytes persisted so far (absent before the first one).
    res.writeHead(308, session.received.length > 0 ? { range: `bytes=0-${session.received.length - 1}` } : {});
    res.end();
    return opts.log(308);
  }
  if (req.method !== 'POST') return false;
  const bucket = decodeURIComponent(insert[1] as string);
  const body = await readBody(req);
  if (!opts.buckets.has(bucket)) return fail(404, 'notFound', 'The specified bucket does not exist.');
  const contentType = String(req.headers['content-type'] ?? 'application/octet-stream');
  let metadata: Metadata = {};
  let bytes = body;
  let mediaType: string | undefined;
  if (type === 'multipart') {
    try {
      ({ metadata, bytes, type: mediaType } = parseMultipart(body, contentType));
    } catch {
      return fail(400, 'invalid', 'Invalid multipart request.');
    }
  } else if (type === 'resumable') {
    try {
      metadata = body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as Metadata);
    } catch {
      return fail(400, 'parseError', 'Parse Error');
    }
    const name = metadata.name ?? url.searchParams.get('name') ?? '';
    if (name === '') return fail(400, 'required', 'Required');
    const id = randomUUID().replaceAll('-', '');
    const xType = req.headers['x-upload-content-type'];
    sessions.set(id, {
      bucket,
      metadata: {
        ...metadata,
        name,
        ...(typeof xType === 'string' ? { contentType: metadata.contentType ?? xType } : {}),
      },
      received: Buffer.alloc(0),
    });
    const q = new URLSearchParams({ uploadType: 'resumable', name, upload_id: id });
    res.writeHead(200, {
      location: `${opts.base}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?${q}`,
      'content-length': 0,
    });
    res.end();
    return opts.log(200);
  } else if (type !== 'media') {
    return fail(400, 'invalid', `Invalid upload type: ${type ?? '(none)'}.`);
  }
  const name = metadata.name ?? url.searchParams.get('name') ?? '';
  if (name === '') return fail(400, 'required', 'Required');
  const bad = digestMismatch(metadata, bytes);
  if (bad !== undefined) return fail(400, 'invalid', bad);
  return opts.store({
    bucket,
    name,
    bytes,
    contentType: metadata.contentType ?? mediaType ?? (type === 'media' ? contentType : 'application/octet-stream'),
  });
}
