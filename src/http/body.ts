import { ModelshipError } from '../errors/index.js';
import { concatBytes } from '../core/bytes.js';

/** True for `application/json` and `application/<x>+json`, with any parameters. */
function isJsonType(contentType: string): boolean {
  const type = contentType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/**
 * Reads a JSON request body, enforcing `limit` while reading: a body over the limit is refused as soon as it
 * crosses it (or at once, from `Content-Length`), never buffered whole.
 * A request without `Content-Type` is read as JSON; any other type is refused with 415.
 */
export async function readJsonBody(request: Request, limit: number): Promise<unknown> {
  const contentType = request.headers.get('content-type');
  if (contentType !== null && !isJsonType(contentType)) {
    throw new ModelshipError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type ${JSON.stringify(contentType.split(';', 1)[0])} is not supported; send JSON with "Content-Type: application/json".`,
    );
  }
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  const text = await readText(request, limit);
  if (text.trim() === '') throw new ModelshipError('MALFORMED_REQUEST', 'The request body is empty; send a JSON object.');
  try {
    return JSON.parse(text);
  } catch (cause) {
    const detail = cause instanceof SyntaxError ? `: ${cause.message}` : '';
    throw new ModelshipError('MALFORMED_REQUEST', `The request body is not valid JSON${detail}.`, { cause });
  }
}

function tooLarge(limit: number): ModelshipError {
  return new ModelshipError(
    'PAYLOAD_TOO_LARGE',
    `The request body is larger than the limit of ${limit} bytes; send fewer rows per request or raise maxBodyBytes.`,
    { details: { limit } },
  );
}

async function readText(request: Request, limit: number): Promise<string> {
  const body = request.body;
  if (body === null) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = concatBytes(chunks, total);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new ModelshipError('MALFORMED_REQUEST', 'The request body is not valid UTF-8.', { cause });
  }
}
