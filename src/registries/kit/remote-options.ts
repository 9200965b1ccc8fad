import type { Dispatcher } from 'undici';
import { z } from 'zod';
import type { DownloadProgress, RegistryWarning } from '../../spec/registry.js';

const fn = <T>(what: string) => z.custom<T>((v) => typeof v === 'function', `${what} must be a function`);

/** Options shared by every registry that downloads models (HTTP, S3, MLflow…). */
export const remoteOptionsShape = {
  /** Cache directory (default `$MODELSHIP_CACHE_DIR`, `$XDG_CACHE_HOME/modelship`, `~/.cache/modelship`). */
  cacheDir: z.string().min(1).optional(),
  /** Size budget of the cache in bytes; least recently used models are evicted past it, never those in use. */
  maxCacheBytes: z.number().int().positive().optional(),
  /** Largest model download accepted (default 8 GiB); larger ones fail with DOWNLOAD_TOO_LARGE. */
  maxDownloadBytes: z.number().int().positive().optional(),
  /** Idle timeout of each request in ms: connecting, waiting for a response or a stalled body (default 30 000). */
  timeoutMs: z.number().int().positive().optional(),
  /** Retries after a connection error, timeout, 408, 429 or 5xx (default 3). */
  retries: z.number().int().min(0).max(20).optional(),
  /** First backoff delay in ms, doubled per retry with jitter (default 250). */
  retryDelayMs: z.number().int().min(0).optional(),
  /** Longest backoff delay in ms (default 10 000). */
  maxRetryDelayMs: z.number().int().min(0).optional(),
  /** An undici dispatcher (Agent, ProxyAgent, MockAgent) for HTTP requests. */
  dispatcher: z
    .custom<Dispatcher>(
      (v) => typeof v === 'object' && v !== null && typeof (v as Dispatcher).dispatch === 'function',
      'dispatcher must be an undici Dispatcher',
    )
    .optional(),
  /** A WHATWG fetch to send every HTTP request through instead of undici. */
  fetch: fn<typeof globalThis.fetch>('fetch').optional(),
  /** S3 client settings for `s3://` locations (endpoint and forcePathStyle for MinIO-style stores). */
  s3: z
    .strictObject({
      region: z.string().min(1).optional(),
      endpoint: z.string().url().optional(),
      forcePathStyle: z.boolean().optional(),
      credentials: z
        .object({ accessKeyId: z.string(), secretAccessKey: z.string(), sessionToken: z.string().optional() })
        .optional(),
    })
    .optional(),
  /** Default download progress callback (a call's own `onProgress` takes precedence). */
  onProgress: fn<(progress: DownloadProgress) => void>('onProgress').optional(),
  /** Receives warnings, e.g. a reference answered from the cache during an outage. */
  onWarning: fn<(warning: RegistryWarning) => void>('onWarning').optional(),
};

/** Defaults of the shared remote options. */
export const REMOTE_DEFAULTS = {
  maxDownloadBytes: 8 * 1024 ** 3,
  timeoutMs: 30_000,
  retries: 3,
  retryDelayMs: 250,
  maxRetryDelayMs: 10_000,
} as const;

/** The parsed shared options. */
export type RemoteOptions = z.output<z.ZodObject<typeof remoteOptionsShape>>;
