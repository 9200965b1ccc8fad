import { concatBytes } from '../../core/bytes.js';
import { ModelshipError, toModelshipError } from '../../errors/index.js';
import type { FetchLike } from '../../core/fetch-like.js';

/** How far a model download has got. `total` is absent when the server does not say (no Content-Length). */
export interface DownloadProgress {
  /** The URL being downloaded. */
  readonly url: string;
  /** Bytes received so far. */
  readonly loaded: number;
  /** Expected size in bytes, when known. */
  readonly total?: number;
  /** True when the bytes came from the model cache instead of the network (reported once, complete). */
  readonly cached: boolean;
}

/** Receives download progress. */
export type ProgressListener = (progress: DownloadProgress) => void;

/** The `fetch` a download uses (the one FetchLike type, from core); injectable for tests and custom transports. */
export type { FetchLike };

function contentLength(response: Response): number | undefined {
  // A compressed body's Content-Length counts compressed bytes, but the stream yields decompressed ones.
  if (response.headers.get('content-encoding')) return undefined;
  const value = Number(response.headers.get('content-length'));
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** A network error's message, with the reason some fetch implementations keep one level down ("fetch failed" → ECONNRESET). */
function reason(cause: unknown): string {
  const inner = (cause as { cause?: { message?: string; code?: string } }).cause;
  const detail = inner?.code ?? inner?.message;
  const message = cause instanceof Error ? cause.message : String(cause);
  return detail ? `${message} (${detail})` : message;
}

function statusError(url: string, response: Response): ModelshipError {
  const status = response.status;
  if (status === 404 || status === 410) {
    return new ModelshipError(
      'MODEL_NOT_FOUND',
      `No model at ${url} (HTTP ${status}). Check the URL; relative URLs resolve against the page.`,
      {
        details: { status },
      },
    );
  }
  const retryable = status >= 500 || status === 408 || status === 429;
  return new ModelshipError(
    retryable ? 'REGISTRY_UNAVAILABLE' : 'MODEL_LOAD_FAILED',
    `Downloading ${url} failed with HTTP ${status}${retryable ? '; try again later' : ''}.`,
    { details: { status } },
  );
}

/**
 * Downloads `url` into one Uint8Array, reporting progress as chunks arrive. HTTP errors become MODEL_NOT_FOUND
 * (404/410), REGISTRY_UNAVAILABLE (5xx, 408, 429: retryable) or MODEL_LOAD_FAILED; network failures are
 * REGISTRY_UNAVAILABLE; an abort is ABORTED.
 */
export async function download(
  url: string,
  options: { fetch?: FetchLike; signal?: AbortSignal; onProgress?: ProgressListener } = {},
): Promise<Uint8Array> {
  const fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  let response: Response;
  try {
    response = await fetchFn(url, options.signal ? { signal: options.signal } : {});
  } catch (cause) {
    if (options.signal?.aborted) throw toModelshipError(options.signal.reason);
    throw new ModelshipError(
      'REGISTRY_UNAVAILABLE',
      `Could not download ${url}: ${reason(cause)}. Check the network and that the server allows this origin (CORS).`,
      { cause },
    );
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw statusError(url, response);
  }
  const total = contentLength(response);
  const report = (loaded: number): void =>
    options.onProgress?.({ url, loaded, ...(total === undefined ? {} : { total }), cached: false });
  report(0);
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    report(bytes.byteLength);
    return bytes;
  }
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.byteLength;
      report(loaded);
    }
  } catch (cause) {
    if (options.signal?.aborted) throw toModelshipError(options.signal.reason);
    throw new ModelshipError(
      'REGISTRY_UNAVAILABLE',
      `The download of ${url} broke off after ${loaded} bytes: ${reason(cause)}.`,
      { cause },
    );
  }
  return concatBytes(chunks, loaded);
}
