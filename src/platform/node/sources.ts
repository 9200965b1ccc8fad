import { ModelshipError } from '../../errors/index.js';
import type { DownloadOptions, DownloadResult } from './download.js';
import { open, readAll, withRetries, failure, retryAfterOf, type HttpClientConfig } from './http-client.js';
import { downloadHttp } from './http-download.js';
import { describe, statusError, withRetryAfter } from './http-errors.js';
import { createS3Access, type S3Options } from './s3.js';

/** Per-call extras: headers for this URL only (credentials for the registry's own origin). */
export interface SourceCallOptions {
  readonly signal?: AbortSignal;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Downloads and small reads/writes on `http(s)://` and `s3://` URLs, with one retry/timeout policy. */
export interface RemoteSources {
  download(url: string, dest: string, options: DownloadOptions & SourceCallOptions): Promise<DownloadResult>;
  /** Reads a small object (an index, an MLmodel file); refuses more than `limit` bytes. */
  getBytes(url: string, options?: SourceCallOptions & { limit?: number }): Promise<Uint8Array>;
  put(url: string, body: Uint8Array, contentType: string, options?: SourceCallOptions): Promise<void>;
}

const SMALL_LIMIT = 16 * 1024 * 1024;

function scheme(url: string): 'http' | 's3' {
  if (/^https?:\/\//i.test(url)) return 'http';
  if (/^s3:\/\//i.test(url)) return 's3';
  throw new ModelshipError(
    'INVALID_REF',
    `Unsupported URL scheme in ${JSON.stringify(url.split(/[?#]/)[0])}: use http://, https:// or s3://.`,
  );
}

/** Sources over `config` (undici or an injected fetch) and, for `s3://`, the AWS SDK configured by `s3`. */
export function createRemoteSources(config: HttpClientConfig, s3: S3Options = {}): RemoteSources {
  const s3Access = createS3Access(s3, config);
  const withHeaders = (headers: Readonly<Record<string, string>> | undefined): HttpClientConfig =>
    headers === undefined ? config : { ...config, headers: { ...config.headers, ...headers } };

  return {
    download(url, dest, options) {
      return scheme(url) === 's3'
        ? s3Access.download(url, dest, options)
        : downloadHttp(withHeaders(options.headers), url, dest, options);
    },

    async getBytes(url, options = {}) {
      if (scheme(url) === 's3') return s3Access.getBytes(url, options.signal);
      const what = describe('reading', url);
      const client = withHeaders(options.headers);
      return withRetries(client, options.signal, async () => {
        const exchange = await open(client, { url, method: 'GET', headers: {} }, options.signal, what);
        try {
          if (exchange.response.status !== 200) {
            await exchange.response.discard();
            throw withRetryAfter(statusError(exchange.response.status, what), retryAfterOf(exchange.response));
          }
          return await readAll(exchange, options.limit ?? SMALL_LIMIT, what);
        } catch (error) {
          throw failure(error, options.signal, what);
        } finally {
          exchange.done();
        }
      });
    },

    async put(url, body, contentType, options = {}) {
      if (scheme(url) === 's3') return s3Access.put(url, body, contentType, options.signal);
      const what = describe('uploading', url);
      const client = withHeaders(options.headers);
      await withRetries(client, options.signal, async () => {
        const exchange = await open(
          client,
          { url, method: 'PUT', headers: { 'content-type': contentType }, body },
          options.signal,
          what,
        );
        try {
          const status = exchange.response.status;
          await exchange.response.discard();
          if (status < 200 || status >= 300) throw statusError(status, what, 'INVALID_ARGUMENT');
        } catch (error) {
          throw failure(error, options.signal, what);
        } finally {
          exchange.done();
        }
      });
    },
  };
}
