import { open as openFile, type FileHandle } from 'node:fs/promises';
import { redactUrl } from '../../core/redact.js';
import { ModelshipError } from '../../errors/index.js';
import type { DownloadOptions, DownloadResult } from './download.js';
import { diskFullCode } from './fs-atomic.js';
import { failure, open, retryAfterOf, withRetries, type HttpClientConfig } from './http-client.js';
import { describe, statusError, withRetryAfter } from './http-errors.js';

/** DOWNLOAD_TOO_LARGE naming the limit and how to raise it. */
export function tooLarge(url: string, size: number, maxBytes: number, announced: boolean): ModelshipError {
  return new ModelshipError(
    'DOWNLOAD_TOO_LARGE',
    `${redactUrl(url)} is ${announced ? '' : 'more than '}${size} bytes, over the ${maxBytes}-byte download limit${announced ? '; nothing was downloaded' : ''}. Raise maxDownloadBytes if the model really is that large.`,
    { details: { size, maxBytes } },
  );
}

interface Validator {
  etag?: string;
  lastModified?: string;
}

/** Parses `Content-Range: bytes start-end/total`. */
function contentRange(value: string | undefined): { start: number; total?: number } | undefined {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(value?.trim() ?? '');
  if (!m) return undefined;
  return { start: Number(m[1]), ...(m[2] === '*' ? {} : { total: Number(m[2]) }) };
}

function contentLength(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value);
}

/**
 * Downloads `url` into `dest` over HTTP(S) with retries. After a dropped connection or a body cut short, the next
 * try asks for the rest with `Range` (guarded by `If-Range`); a server that answers 200 instead (it ignores
 * ranges, or the object changed) is noticed and the file starts over. The announced size is checked against
 * `maxBytes` before any byte is written, and the running total while streaming.
 */
export async function downloadHttp(
  config: HttpClientConfig,
  url: string,
  dest: string,
  options: DownloadOptions,
): Promise<DownloadResult> {
  const what = describe('downloading', url);
  const publicUrl = redactUrl(url);
  const handle: FileHandle = await openFile(dest, 'w');
  let written = 0;
  let total: number | undefined;
  let validator: Validator = {};
  let progressAtStart = 0;
  try {
    await withRetries(
      config,
      options.signal,
      async () => {
        progressAtStart = written;
        const headers: Record<string, string> = { 'accept-encoding': 'identity' };
        if (written > 0) {
          headers.range = `bytes=${written}-`;
          const ifRange = validator.etag && !validator.etag.startsWith('W/') ? validator.etag : validator.lastModified;
          if (ifRange) headers['if-range'] = ifRange;
        }
        const exchange = await open(config, { url, method: 'GET', headers }, options.signal, what);
        const res = exchange.response;
        try {
          if (res.status === 206 && written > 0) {
            const range = contentRange(res.header('content-range'));
            if (range === undefined || range.start !== written) {
              // Not the part we asked for: start over rather than splice mismatched bytes.
              await res.discard();
              await handle.truncate(0);
              written = 0;
              throw new ModelshipError(
                'REGISTRY_UNAVAILABLE',
                `The server sent an unexpected range while ${what}; starting over.`,
              );
            }
            total = range.total ?? total;
          } else if (res.status === 200) {
            if (written > 0) {
              // The server ignored Range (or the object changed): what we have is useless.
              await handle.truncate(0);
              written = 0;
            }
            total = contentLength(res.header('content-length'));
            validator = { etag: res.header('etag'), lastModified: res.header('last-modified') };
          } else if (res.status === 416 && written > 0 && total !== undefined && written === total) {
            await res.discard();
            return;
          } else {
            await res.discard();
            throw withRetryAfter(statusError(res.status, what), retryAfterOf(res));
          }
          if (total !== undefined && total > options.maxBytes) {
            await res.discard();
            throw tooLarge(url, total, options.maxBytes, true);
          }
          options.onProgress?.({ url: publicUrl, loaded: written, ...(total === undefined ? {} : { total }) });
          for await (const chunk of res.body) {
            exchange.touch();
            if (written + chunk.byteLength > options.maxBytes) {
              await res.discard();
              throw tooLarge(url, options.maxBytes, options.maxBytes, false);
            }
            let offset = 0;
            while (offset < chunk.byteLength) {
              const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset, written + offset);
              offset += bytesWritten;
            }
            written += chunk.byteLength;
            options.onProgress?.({ url: publicUrl, loaded: written, ...(total === undefined ? {} : { total }) });
          }
          if (total !== undefined && written < total) {
            throw new ModelshipError(
              'REGISTRY_UNAVAILABLE',
              `The body ended after ${written} of ${total} bytes while ${what}.`,
              {
                details: { loaded: written, total },
              },
            );
          }
          if (total !== undefined && written > total) {
            throw new ModelshipError(
              'REGISTRY_UNAVAILABLE',
              `The server sent ${written} bytes but announced ${total} while ${what}.`,
              { retryable: false },
            );
          }
        } catch (error) {
          // A full disk is this machine's problem, not the server's: never retried as a network failure.
          if (diskFullCode(error) !== undefined)
            throw new ModelshipError('INTERNAL', `Out of disk space while ${what}.`, { cause: error });
          throw failure(error, options.signal, what);
        } finally {
          exchange.done();
        }
      },
      () => written > progressAtStart,
    );
    await handle.sync();
  } finally {
    // On failure the caller removes the partial file (it lives in a temp area no reader looks at).
    await handle.close();
  }
  return { size: written };
}
