import type { HttpClient, HttpReply } from './http-client.js';
import { parseJsonReply } from './http-errors.js';

/** One JSON call to a cloud REST API (ARM, Google): what the vendor clients describe. */
export interface JsonCall {
  readonly method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** The full URL. */
  readonly url: string;
  readonly body?: unknown;
  /** false for creations: sent again only when the connection was refused. */
  readonly idempotent: boolean;
  /** What the call does, for messages ("getting a Vertex AI model"). */
  readonly what: string;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Sends `call` with a bearer `authorization` on `http`: a JSON body when there is one, a 2xx answer's JSON back
 * (parseJsonReply), anything else to `fail`, which maps the vendor's error shape (and throws).
 */
export function sendJsonCall<T>(
  http: HttpClient,
  call: JsonCall,
  authorization: string,
  service: string,
  fail: (reply: HttpReply, what: string) => never,
): Promise<T> {
  const body = call.body === undefined ? undefined : JSON.stringify(call.body);
  const headers: Record<string, string> = {
    accept: 'application/json',
    authorization,
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
  };
  const what = `${call.what} (${service})`;
  return http.send(
    {
      method: call.method,
      url: call.url,
      headers,
      ...(body === undefined ? {} : { body }),
      what,
      signal: call.signal,
      idempotent: call.idempotent,
    },
    (reply): T =>
      reply.status >= 200 && reply.status < 300 ? parseJsonReply<T>(reply.text, service, what) : fail(reply, what),
  );
}
