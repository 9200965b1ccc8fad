import { concatBytes } from '../core/bytes.js';
import { ModelshipError } from '../errors/index.js';
import { payloadTooLarge, type InboundRequest } from './exchange.js';

/** True for `application/json` and `application/<x>+json`, with any parameters. */
function isJsonType(contentType: string): boolean {
  const type = contentType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const GZIP_MAGIC = new Uint8Array([0x1f, 0x8b]);

/** Refuses a body whose `Content-Type` is set and is not JSON (415); a missing one is read as JSON. */
export function requireJsonType(request: InboundRequest): void {
  const contentType = request.header('content-type');
  if (contentType !== null && !isJsonType(contentType)) {
    throw new ModelshipError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type ${JSON.stringify(contentType.split(';', 1)[0])} is not supported; send JSON with "Content-Type: application/json".`,
    );
  }
}

/**
 * The 413 for a compressed body that inflates past the limit: the inflating stops there, so a small "gzip
 * bomb" costs the server no more memory than the limit.
 */
function inflatedTooLarge(limit: number): ModelshipError {
  return new ModelshipError(
    'PAYLOAD_TOO_LARGE',
    `The request body inflates to more than the limit of ${limit} bytes; send fewer rows per request or raise maxBodyBytes.`,
    { details: { limit } },
  );
}

/**
 * The `DecompressionStream` format for a `Content-Encoding`, or undefined for identity. HTTP's `deflate` is the
 * zlib format (RFC 9110 §8.4.1.2), which Python's `zlib.compress` (tritonclient) writes; some clients send raw
 * deflate under that name, so a body without a zlib header is read as raw deflate.
 */
function formatOf(encoding: string, bytes: Uint8Array): CompressionFormat | undefined {
  const e = encoding.trim().toLowerCase();
  if (e === '' || e === 'identity') return undefined;
  if (e === 'gzip' || e === 'x-gzip') return 'gzip';
  if (e === 'deflate') {
    const zlibHeader =
      bytes.length >= 2 &&
      ((bytes[0] as number) & 0x0f) === 8 &&
      (((bytes[0] as number) << 8) | (bytes[1] as number)) % 31 === 0;
    return zlibHeader ? 'deflate' : ('deflate-raw' as CompressionFormat);
  }
  throw new ModelshipError(
    'UNSUPPORTED_MEDIA_TYPE',
    `Content-Encoding ${JSON.stringify(encoding.slice(0, 40))} is not supported; send the body as is, or compressed with gzip or deflate.`,
  );
}

/**
 * Inflated bytes held by the bodies being inflated now, over all requests. A compressed body passes the
 * server's in-flight body budget at its compressed size, so what it inflates to has a budget of its own: four
 * times the per-request limit (the server-wide budget's default). A body inflating alone is always let through.
 */
let inflating = 0;
const INFLATING_BUDGET_LIMITS = 4;

function inflatingBusy(limit: number): ModelshipError {
  return new ModelshipError(
    'SERVER_BUSY',
    `The server is inflating as many compressed request bytes as it takes at once (${INFLATING_BUDGET_LIMITS * limit}); retry in a moment.`,
  );
}

/**
 * Inflates `bytes`, stopping as soon as the output passes `limit` (the stream inflates on demand, a chunk at a
 * time, so the rest of a bomb is never inflated) or the server-wide inflating budget. A corrupt stream is
 * `MALFORMED_REQUEST`.
 */
async function inflate(bytes: Uint8Array, format: CompressionFormat, limit: number): Promise<Uint8Array> {
  const stream = new DecompressionStream(format);
  const writer = stream.writable.getWriter();
  // Their failures surface on the reader below.
  writer.write(bytes as Uint8Array<ArrayBuffer>).catch(() => undefined);
  writer.close().catch(() => undefined);
  const reader = stream.readable.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (cause) {
        throw new ModelshipError(
          'MALFORMED_REQUEST',
          'The request body is not valid for its Content-Encoding (corrupt or truncated compressed data).',
          { cause },
        );
      }
      if (next.done) return concatBytes(chunks, total);
      total += next.value.byteLength;
      inflating += next.value.byteLength;
      const refusal =
        total > limit
          ? inflatedTooLarge(limit)
          : inflating > INFLATING_BUDGET_LIMITS * limit && inflating !== total
            ? inflatingBusy(limit)
            : undefined;
      if (refusal !== undefined) {
        await reader.cancel().catch(() => undefined);
        throw refusal;
      }
      chunks.push(next.value);
    }
  } finally {
    inflating -= total;
  }
}

/**
 * Reads a request body within `limit` bytes, inflated when `Content-Encoding` is `gzip` or `deflate` (the
 * inflated body is held to the same limit: 413 `PAYLOAD_TOO_LARGE` past it); any other encoding is 415.
 * A body over the limit is refused as soon as it crosses it (or at once, from `Content-Length`).
 */
export function readBody(request: InboundRequest, limit: number): Promise<Uint8Array> {
  const declared = request.header('content-length');
  if (declared !== null && Number(declared) > limit) return Promise.reject(payloadTooLarge(limit));
  const encoding = request.header('content-encoding');
  // Not async, and no closure unless the body is encoded: the common request pays one header lookup.
  if (encoding === null) return request.bytes(limit);
  // An encoding we cannot read is refused before the body is read.
  formatOf(encoding, GZIP_MAGIC);
  return request.bytes(limit).then((bytes) => {
    const format = formatOf(encoding, bytes);
    return format === undefined ? bytes : inflate(bytes, format, limit);
  });
}

/** Parses UTF-8 JSON bytes (`MALFORMED_REQUEST` when they are not), naming `what` in messages. */
export function parseJsonBytes(bytes: Uint8Array, what = 'The request body'): unknown {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch (cause) {
    throw new ModelshipError('MALFORMED_REQUEST', `${what} is not valid UTF-8.`, { cause });
  }
  if (text.trim() === '') throw new ModelshipError('MALFORMED_REQUEST', `${what} is empty; send a JSON object.`);
  try {
    return JSON.parse(text);
  } catch (cause) {
    const detail = cause instanceof SyntaxError ? `: ${cause.message}` : '';
    throw new ModelshipError('MALFORMED_REQUEST', `${what} is not valid JSON${detail}.`, { cause });
  }
}

/**
 * Reads a JSON request body, enforcing `limit` while reading: a body over the limit is refused as soon as it
 * crosses it (or at once, from `Content-Length`), never buffered whole. A gzip or deflate `Content-Encoding` is
 * inflated within the same limit.
 * A request without `Content-Type` is read as JSON; any other type is refused with 415.
 */
export async function readJsonBody(request: InboundRequest, limit: number): Promise<unknown> {
  requireJsonType(request);
  return parseJsonBytes(await readBody(request, limit));
}
