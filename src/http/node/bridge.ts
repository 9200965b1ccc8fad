import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';

/** Options for {@link toWebRequest}. */
export interface ToWebRequestOptions {
  /** A body already read by earlier middleware (e.g. `express.json()`), re-serialized as JSON. */
  readonly parsedBody?: unknown;
}

/**
 * Builds a fetch `Request` from a node:http request without buffering the body, with a signal that aborts
 * when the client goes away before the response is sent.
 */
export function toWebRequest(req: IncomingMessage, res: ServerResponse, options: ToWebRequestOptions = {}): Request {
  const host = req.headers.host ?? 'localhost';
  const protocol = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  const url = `${protocol}://${host}${req.url ?? '/'}`;
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  const method = req.method ?? 'GET';
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal: controller.signal };
  if (method !== 'GET' && method !== 'HEAD') {
    if (options.parsedBody !== undefined) {
      // The original Content-Type stays, so a form that a urlencoded parser consumed is still refused with 415.
      init.body = JSON.stringify(options.parsedBody);
      headers.delete('content-length');
    } else {
      init.body = Readable.toWeb(req) as ReadableStream<Uint8Array>;
      init.duplex = 'half';
    }
  }
  try {
    return new Request(url, init);
  } catch {
    // A malformed Host header or path: route it as "/" so the handler answers 404 instead of throwing.
    return new Request(`http://localhost/__invalid__`, { method: 'GET', signal: controller.signal });
  }
}

/** Writes a fetch `Response` to a node:http response. */
export async function sendWebResponse(res: ServerResponse, response: Response, method = 'GET'): Promise<void> {
  res.statusCode = response.status;
  response.headers.forEach((value, key) => {
    if (key !== 'set-cookie') res.setHeader(key, value);
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  if (method === 'HEAD' || response.body === null) {
    res.end();
    return;
  }
  const body = Buffer.from(await response.arrayBuffer());
  res.setHeader('content-length', body.byteLength);
  res.end(body);
}
