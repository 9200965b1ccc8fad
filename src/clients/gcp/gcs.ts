import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { stat as fileStat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type * as GoogleCloudStorage from '@google-cloud/storage';
import { ModelshipError } from '../../errors/index.js';
import type { ModelFile } from '../../platform/model-store.js';
import type { DownloadProgress } from '../../spec/registry.js';
import { idleTimer, withRetries, type IdleTimer } from '../../platform/node/http-client.js';
import type { GcpAuth } from './gcp-auth.js';
import type { GoogleRest } from './google-rest.js';
import { gcsError, type GcsFailure } from './gcs-errors.js';
import { mismatch, sdkCanValidate, verifyGcsDigest } from './gcs-verify.js';
import { loadStorage } from './storage-sdk.js';

export { verifyGcsDigest } from './gcs-verify.js';

/** A `gs://bucket/object` location. */
export interface GsLocation {
  readonly bucket: string;
  readonly object: string;
}

/** Parses `gs://bucket/path`; INVALID_REF otherwise. An empty object means the bucket's root folder. */
export function parseGsUrl(url: string): GsLocation {
  const m = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m)
    throw new ModelshipError(
      'INVALID_REF',
      `Invalid Cloud Storage URL ${JSON.stringify(url.slice(0, 200))}: use gs://<bucket>/<object>.`,
    );
  return { bucket: m[1] as string, object: m[2] ?? '' };
}

/** What objects.get says about an object. */
export interface GcsObjectInfo {
  readonly name: string;
  readonly size: number;
  readonly generation: string;
  readonly md5Hash?: string;
  readonly crc32c?: string;
  /** `gzip` for objects stored compressed (their digests are of the compressed bytes). */
  readonly contentEncoding?: string;
}

/** The Cloud Storage calls modelship needs. */
export interface Gcs {
  stat(loc: GsLocation, signal?: AbortSignal): Promise<GcsObjectInfo>;
  /** Object names under a prefix (all pages). */
  list(bucket: string, prefix: string, signal?: AbortSignal): Promise<GcsObjectInfo[]>;
  /** The object as a file for the model cache: its generation pinned, its md5Hash (or crc32c) checked. */
  modelFile(loc: GsLocation, extra: { sha256?: string; signal?: AbortSignal }): Promise<ModelFile>;
  upload(loc: GsLocation, bytes: Uint8Array, signal?: AbortSignal): Promise<GcsObjectInfo>;
}

/**
 * An object resource as modelship uses it. The SDK hands over a body it could not parse as JSON as a string (a proxy's
 * HTML page answering 200): anything without a size and a generation is refused rather than read as an empty object.
 */
function info(m: GoogleCloudStorage.FileMetadata | string | undefined): GcsObjectInfo {
  const size = typeof m === 'object' ? Number(m.size) : NaN;
  if (typeof m !== 'object' || !Number.isSafeInteger(size) || size < 0 || !/^\d+$/.test(String(m.generation)))
    throw new ModelshipError(
      'REGISTRY_UNAVAILABLE',
      'Cloud Storage answered with something that is not an object resource (no size or generation): check the endpoint (storageEndpoint, STORAGE_EMULATOR_HOST) and any proxy in between.',
      { retryable: false },
    );
  return {
    name: m.name ?? '',
    size,
    generation: String(m.generation),
    ...(typeof m.md5Hash === 'string' ? { md5Hash: m.md5Hash } : {}),
    ...(typeof m.crc32c === 'string' ? { crc32c: m.crc32c } : {}),
    ...(typeof m.contentEncoding === 'string' ? { contentEncoding: m.contentEncoding } : {}),
  };
}

/** Rejects when `signal` aborts (the SDK's metadata and listing calls take no signal; the reply is then ignored). */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Cloud Storage through the official `@google-cloud/storage` client (loaded on first use). Requests are signed by
 * `auth` (the same Application Default Credentials as the rest of the Google client) and sent to `endpoint`
 * (`STORAGE_EMULATOR_HOST`, when set, takes precedence inside the SDK). Retries follow modelship's policy, not the
 * SDK's: `rest.config`'s budget, backoff and idle timeout, `Retry-After` honoured, as for every other registry.
 * Downloads use the SDK's md5/crc32c validation.
 */
export function createGcs(rest: GoogleRest, auth: GcpAuth, endpoint: string): Gcs {
  const root = endpoint.replace(/\/+$/, '');
  const config = rest.config;
  let storage: Promise<GoogleCloudStorage.Storage> | undefined;
  const client = (): Promise<GoogleCloudStorage.Storage> => {
    storage ??= loadStorage().then((sdk) => {
      const created = new sdk.Storage({
        apiEndpoint: root,
        // The SDK's bundled google-auth-library calls these two; GcpAuth caches and refreshes the token.
        authClient: {
          getRequestHeaders: async () => ({ Authorization: await auth.authorization() }),
          getCredentials: () => Promise.resolve({}),
        } as never,
        // A custom endpoint (a private endpoint, an emulator, a test server) still gets the credentials.
        useAuthWithCustomEndpoint: true,
        // withRetries below retries instead: the SDK's first wait is 1 s and it ignores Retry-After.
        retryOptions: { autoRetry: false, maxRetries: 0 },
      });
      // The Node SDK takes STORAGE_EMULATOR_HOST as its API base verbatim; the Go and Python clients (and gcloud
      // docs) give a bare host:port, which it would turn into relative URLs. Give that form the JSON API path.
      const emulator = process.env.STORAGE_EMULATOR_HOST;
      if (emulator !== undefined && emulator !== '' && !/^https?:\/\//.test(emulator))
        created.baseUrl = `http://${emulator.replace(/\/+$/, '')}/storage/v1`;
      return created;
    });
    storage.catch(() => (storage = undefined));
    return storage;
  };
  /**
   * One call under the retry policy, failures mapped by gcsError. Each try runs under the idle timeout (`watch.touch()`
   * on progress), except uploads (`idle: false`): the SDK reports no progress for a one-request upload.
   */
  const call = <T>(
    loc: GsLocation,
    what: string,
    signal: AbortSignal | undefined,
    run: (sdk: GoogleCloudStorage.Storage, watch: Pick<IdleTimer, 'signal' | 'touch'>) => Promise<T>,
    idle = true,
  ): Promise<T> =>
    withRetries(config, signal, async () => {
      if (signal?.aborted) throw new ModelshipError('ABORTED', `Aborted while ${what}.`, { cause: signal.reason });
      const sdk = await client();
      const timer = idle ? idleTimer(config.timeoutMs, signal) : undefined;
      const watch = timer ?? { signal: signal ?? new AbortController().signal, touch: () => undefined };
      try {
        return await run(sdk, watch);
      } catch (cause) {
        if (signal?.aborted) throw new ModelshipError('ABORTED', `Aborted while ${what}.`, { cause: signal.reason });
        if (timer?.signal.aborted)
          throw new ModelshipError(
            'REGISTRY_UNAVAILABLE',
            `Cloud Storage sent nothing for ${config.timeoutMs} ms while ${what}. Retry later, or raise timeoutMs.`,
            { cause: timer.signal.reason, retryable: true },
          );
        throw gcsError(cause as GcsFailure, `gs://${loc.bucket}/${loc.object}`, what);
      } finally {
        timer?.done();
      }
    });

  const self: Gcs = {
    stat: (loc, signal) =>
      call(loc, 'reading object metadata', signal, async (sdk, timer) =>
        info((await abortable(sdk.bucket(loc.bucket).file(loc.object).getMetadata(), timer.signal))[0]),
      ),
    list: (bucket, prefix, signal) =>
      call({ bucket, object: prefix }, 'listing the model folder', signal, async (sdk, timer) => {
        // autoPaginate follows nextPageToken through every page (maxResults would cap the total, not the page).
        const [files] = await abortable(sdk.bucket(bucket).getFiles({ prefix, autoPaginate: true }), timer.signal);
        return files.map((f) => info({ ...f.metadata, name: f.name }));
      }),
    async modelFile(loc, extra) {
      const o = await self.stat(loc, extra.signal);
      const what = `gs://${loc.bucket}/${loc.object}`;
      const kind = o.md5Hash !== undefined ? 'md5' : 'crc32c';
      // A gzip-stored object is served decompressed: its stored size is not the file's.
      const size = o.contentEncoding === 'gzip' ? undefined : o.size;
      // The SDK validates against the response's x-goog-hash; a server that sends none (some emulators) makes it
      // skip crc32c silently and refuse md5 (MD5_NOT_AVAILABLE): then modelship checks the file itself.
      let validation: 'md5' | 'crc32c' | false = kind;
      /** One download into `temp`; true when the SDK validated it (else modelship must). */
      const once = async (
        sdk: GoogleCloudStorage.Storage,
        timer: Pick<IdleTimer, 'signal' | 'touch'>,
        temp: string,
        onProgress: ((p: DownloadProgress) => void) | undefined,
      ): Promise<boolean> => {
        let loaded = 0;
        let checked = false;
        const source = sdk
          .bucket(loc.bucket)
          .file(loc.object, { generation: o.generation })
          .createReadStream({ validation });
        source.on('response', (res: { headers?: Record<string, unknown> }) => {
          checked = validation !== false && sdkCanValidate(res.headers ?? {}, validation);
        });
        const touch = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            timer.touch();
            loaded += chunk.length;
            onProgress?.({ url: what, loaded, ...(size === undefined ? {} : { total: size }) });
            done(null, chunk);
          },
        });
        await pipeline(source, touch, createWriteStream(temp), { signal: timer.signal });
        return checked;
      };
      const download = (temp: string, onProgress?: (p: DownloadProgress) => void): Promise<boolean> =>
        call(loc, 'downloading the model', extra.signal, async (sdk, timer) => {
          try {
            return await once(sdk, timer, temp, onProgress);
          } catch (cause) {
            const code = (cause as GcsFailure | null)?.code;
            if (code === 'CONTENT_DOWNLOAD_MISMATCH') throw mismatch(what, kind, cause);
            if (code !== 'MD5_NOT_AVAILABLE' || validation === false) throw cause;
            // Refused at the response headers, before any byte: fetch again without the SDK's check.
            validation = false;
            return once(sdk, timer, temp, onProgress);
          }
        });
      return {
        // gsutil's notation for one generation of an object.
        url: `${what}#${o.generation}`,
        ...(size === undefined ? {} : { size }),
        ...(extra.sha256 === undefined ? {} : { sha256: extra.sha256 }),
        fill: async (temp, _download, onProgress) => {
          if (!(await download(temp, onProgress))) await verifyGcsDigest(temp, o, what);
          return (await fileStat(temp)).size;
        },
      };
    },
    async upload(loc, bytes, signal) {
      const md5Hash = createHash('md5').update(bytes).digest('base64');
      const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      // Same name, same bytes: a repeated upload only adds a generation, so a retry is safe.
      return call(
        loc,
        'uploading the model',
        signal,
        async (sdk, watch) => {
          const file = sdk.bucket(loc.bucket).file(loc.object);
          try {
            // One multipart request: the bytes are already in memory, so a failed upload is simply sent again, and a
            // resumable session would only add round trips. md5Hash makes Cloud Storage refuse altered bytes (400),
            // and the SDK compares the stored object's md5 with the bytes (FILE_NO_UPLOAD, the object deleted).
            await abortable(
              file.save(body, {
                resumable: false,
                validation: 'md5',
                metadata: { contentType: 'application/octet-stream', md5Hash },
              }),
              watch.signal,
            );
          } catch (cause) {
            if ((cause as GcsFailure | null)?.code !== 'FILE_NO_UPLOAD') throw cause;
            throw new ModelshipError(
              'INTEGRITY_MISMATCH',
              `Cloud Storage stored different bytes than were uploaded to gs://${loc.bucket}/${loc.object}; publish again.`,
              { cause },
            );
          }
          return info(file.metadata);
        },
        false,
      );
    },
  };
  return self;
}
