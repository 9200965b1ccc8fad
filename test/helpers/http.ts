import { request as httpRequest } from 'node:http';

/** Reads a JSON response body along with its status and headers. */
export async function call(url: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body };
}

/** POSTs a JSON value. */
export function postJson(url: string, value: unknown, headers: Record<string, string> = {}): ReturnType<typeof call> {
  return call(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(value),
  });
}

/**
 * Sends `chunk` over and over as a chunked request body, without ever ending it, and resolves with the status
 * of the response the server sends meanwhile (proving the server answered without reading the whole body).
 */
export function streamUntilAnswered(
  url: string,
  chunk: Uint8Array,
): Promise<{ status: number; body: string; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body, sent });
      });
    });
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    const pump = (): void => {
      while (!answered && sent < 512 * 1024 * 1024) {
        sent += chunk.byteLength;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    req.write('{"inputs": [');
    pump();
  });
}
