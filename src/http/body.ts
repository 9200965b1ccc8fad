import { ModelshipError } from '../errors/index.js';
import { payloadTooLarge, type InboundRequest } from './exchange.js';

/** True for `application/json` and `application/<x>+json`, with any parameters. */
function isJsonType(contentType: string): boolean {
  const type = contentType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a JSON request body, enforcing `limit` while reading: a body over the limit is refused as soon as it
 * crosses it (or at once, from `Content-Length`), never buffered whole.
 * A request without `Content-Type` is read as JSON; any other type is refused with 415.
 */
export async function readJsonBody(request: InboundRequest, limit: number): Promise<unknown> {
  const contentType = request.header('content-type');
  if (contentType !== null && !isJsonType(contentType)) {
    throw new ModelshipError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type ${JSON.stringify(contentType.split(';', 1)[0])} is not supported; send JSON with "Content-Type: application/json".`,
    );
  }
  const declared = request.header('content-length');
  if (declared !== null && Number(declared) > limit) throw payloadTooLarge(limit);
  const bytes = await request.bytes(limit);
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch (cause) {
    throw new ModelshipError('MALFORMED_REQUEST', 'The request body is not valid UTF-8.', { cause });
  }
  if (text.trim() === '')
    throw new ModelshipError('MALFORMED_REQUEST', 'The request body is empty; send a JSON object.');
  try {
    return JSON.parse(text);
  } catch (cause) {
    const detail = cause instanceof SyntaxError ? `: ${cause.message}` : '';
    throw new ModelshipError('MALFORMED_REQUEST', `The request body is not valid JSON${detail}.`, { cause });
  }
}
