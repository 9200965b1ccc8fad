import { decodeObjectPath } from '../../core/url-path.js';
import type * as S3 from '@aws-sdk/client-s3';
import { open as openFile } from 'node:fs/promises';
import { type Readable } from 'node:stream';
import { redactUrl } from '../../core/redact.js';
import { ModelshipError } from '../../errors/index.js';
import type { DownloadOptions, DownloadResult } from './download.js';
import { failure, idleTimer, withRetries, type HttpClientConfig } from './http-client.js';
import { tooLarge } from './http-download.js';
import { describe, networkError } from './http-errors.js';

/** How to reach S3 or an S3-compatible store (MinIO, Ceph, R2…). Credentials come from the AWS chain by default. */
export interface S3Options {
  /** Defaults to `$AWS_REGION`, `$AWS_DEFAULT_REGION`, else `us-east-1`. */
  readonly region?: string;
  /** A custom endpoint, e.g. `http://127.0.0.1:9000` for MinIO. */
  readonly endpoint?: string;
  /** Address buckets as `endpoint/bucket/key` (needed by most S3-compatible stores). */
  readonly forcePathStyle?: boolean;
  /** Explicit credentials; omit to use the standard AWS credential chain (env, profile, SSO, instance role…). */
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
}

/** Object access on `s3://bucket/key` URLs. */
export interface S3Access {
  download(url: string, dest: string, options: DownloadOptions): Promise<DownloadResult>;
  getBytes(url: string, signal?: AbortSignal): Promise<Uint8Array>;
  put(url: string, body: Uint8Array, contentType: string, signal?: AbortSignal): Promise<void>;
}

type S3Module = typeof S3;

async function loadS3(): Promise<S3Module> {
  try {
    return await import('@aws-sdk/client-s3');
  } catch (cause) {
    throw new ModelshipError(
      'DEPENDENCY_MISSING',
      's3:// URLs need the optional peer dependency @aws-sdk/client-s3: npm install @aws-sdk/client-s3',
      { cause },
    );
  }
}

/** Splits `s3://bucket/some/key` into bucket and key. */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const parsed = new URL(url);
  const key = decodeObjectPath(parsed.pathname.replace(/^\//, ''));
  if (parsed.protocol !== 's3:' || parsed.hostname === '' || key === '') {
    throw new ModelshipError('INVALID_REF', `Invalid S3 URL ${redactUrl(url)}: use s3://bucket/key.`);
  }
  return { bucket: parsed.hostname, key };
}

/** Maps an AWS SDK error to a modelship error. */
function s3Error(error: unknown, what: string): ModelshipError {
  if (ModelshipError.isInstance(error)) return error;
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  const name = e?.name ?? '';
  if (name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket' || status === 404) {
    return new ModelshipError('MODEL_NOT_FOUND', `Not found (${name || 'HTTP 404'}) while ${what}.`, { cause: error });
  }
  if (
    status === 401 ||
    status === 403 ||
    /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|ExpiredToken|CredentialsProvider/.test(name)
  ) {
    return new ModelshipError(
      'REGISTRY_AUTH_FAILED',
      `S3 refused the credentials (${name || `HTTP ${status}`}) while ${what}. Check the AWS credential chain (AWS_ACCESS_KEY_ID, AWS_PROFILE…) and the bucket policy.`,
      { cause: error },
    );
  }
  if (status !== undefined && status < 500 && status !== 408 && status !== 429) {
    return new ModelshipError('REGISTRY_UNAVAILABLE', `S3 answered ${name} (HTTP ${status}) while ${what}.`, {
      cause: error,
      retryable: false,
    });
  }
  return networkError(error, what);
}

/** S3 access with the given client options; the SDK is imported on first use. Retries are ours, not the SDK's. */
export function createS3Access(
  options: S3Options,
  config: Pick<HttpClientConfig, 'timeoutMs' | 'retries' | 'backoff'>,
): S3Access {
  let client: Promise<{ sdk: S3Module; client: S3.S3Client }> | undefined;
  const getClient = (): Promise<{ sdk: S3Module; client: S3.S3Client }> => {
    client ??= loadS3().then((sdk) => ({
      sdk,
      client: new sdk.S3Client({
        region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
        maxAttempts: 1,
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
        ...(options.forcePathStyle === undefined ? {} : { forcePathStyle: options.forcePathStyle }),
        ...(options.credentials === undefined ? {} : { credentials: { ...options.credentials } }),
      }),
    }));
    client.catch(() => (client = undefined));
    return client;
  };

  async function download(url: string, dest: string, opts: DownloadOptions): Promise<DownloadResult> {
    const { bucket, key } = parseS3Url(url);
    const what = describe('downloading', url);
    const { sdk, client: s3 } = await getClient();
    const handle = await openFile(dest, 'w');
    let written = 0;
    let etag: string | undefined;
    let before = 0;
    try {
      await withRetries(
        config,
        opts.signal,
        async () => {
          before = written;
          const timer = idleTimer(config.timeoutMs, opts.signal);
          try {
            let res: S3.GetObjectCommandOutput;
            try {
              res = await s3.send(
                new sdk.GetObjectCommand({
                  Bucket: bucket,
                  Key: key,
                  ...(written > 0 ? { Range: `bytes=${written}-`, ...(etag ? { IfMatch: etag } : {}) } : {}),
                }),
                { abortSignal: timer.signal },
              );
            } catch (error) {
              if ((error as { name?: string }).name === 'PreconditionFailed' && written > 0) {
                // The object changed between tries: start over.
                await handle.truncate(0);
                written = 0;
                etag = undefined;
                throw new ModelshipError('REGISTRY_UNAVAILABLE', `The object changed while ${what}; starting over.`);
              }
              throw error;
            }
            timer.touch();
            etag ??= res.ETag;
            const total =
              written > 0 ? Number(/\/(\d+)$/.exec(res.ContentRange ?? '')?.[1] ?? Number.NaN) : res.ContentLength;
            const known = total !== undefined && Number.isFinite(total) ? total : undefined;
            if (known !== undefined && known > opts.maxBytes) {
              (res.Body as Readable | undefined)?.destroy?.();
              throw tooLarge(url, known, opts.maxBytes, true);
            }
            const body = res.Body as Readable | undefined;
            if (body === undefined)
              throw new ModelshipError('REGISTRY_UNAVAILABLE', `S3 returned no body while ${what}.`);
            const publicUrl = redactUrl(url);
            for await (const chunk of body as AsyncIterable<Uint8Array>) {
              timer.touch();
              if (written + chunk.byteLength > opts.maxBytes) {
                body.destroy();
                throw tooLarge(url, opts.maxBytes, opts.maxBytes, false);
              }
              let offset = 0;
              while (offset < chunk.byteLength) {
                const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset, written + offset);
                offset += bytesWritten;
              }
              written += chunk.byteLength;
              opts.onProgress?.({ url: publicUrl, loaded: written, ...(known === undefined ? {} : { total: known }) });
            }
            if (known !== undefined && written < known) {
              throw new ModelshipError(
                'REGISTRY_UNAVAILABLE',
                `The body ended after ${written} of ${known} bytes while ${what}.`,
              );
            }
          } catch (error) {
            throw opts.signal?.aborted ? failure(error, opts.signal, what) : s3Error(error, what);
          } finally {
            timer.done();
          }
        },
        () => written > before,
      );
      await handle.sync();
    } finally {
      await handle.close();
    }
    return { size: written };
  }

  async function getBytes(url: string, signal?: AbortSignal): Promise<Uint8Array> {
    const { bucket, key } = parseS3Url(url);
    const what = describe('reading', url);
    const { sdk, client: s3 } = await getClient();
    return withRetries(config, signal, async () => {
      const timer = idleTimer(config.timeoutMs, signal);
      try {
        const res = await s3.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }), {
          abortSignal: timer.signal,
        });
        return (await res.Body?.transformToByteArray()) ?? new Uint8Array();
      } catch (error) {
        throw signal?.aborted ? failure(error, signal, what) : s3Error(error, what);
      } finally {
        timer.done();
      }
    });
  }

  async function put(url: string, body: Uint8Array, contentType: string, signal?: AbortSignal): Promise<void> {
    const { bucket, key } = parseS3Url(url);
    const what = describe('uploading', url);
    const { sdk, client: s3 } = await getClient();
    await withRetries(config, signal, async () => {
      const timer = idleTimer(config.timeoutMs, signal);
      try {
        await s3.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }), {
          abortSignal: timer.signal,
        });
      } catch (error) {
        throw signal?.aborted ? failure(error, signal, what) : s3Error(error, what);
      } finally {
        timer.done();
      }
    });
  }

  return { download, getBytes, put };
}
