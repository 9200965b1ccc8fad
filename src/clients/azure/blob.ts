import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type * as StorageBlob from '@azure/storage-blob';
import { redactUrl } from '../../core/redact.js';
import { ModelshipError } from '../../errors/index.js';
import type { ModelFile } from '../../platform/model-store.js';
import type { AzureTokenCredential } from './azure-settings.js';

/** One blob: its service root (`https://acct.blob.core.windows.net`, or Azurite's), container and name. */
export interface BlobLocation {
  readonly serviceUrl: string;
  readonly container: string;
  readonly name: string;
}

/** How to sign blob requests: a storage account key or SAS (a datastore's secret), or an AAD token credential. */
export type BlobAuth =
  | { readonly kind: 'key'; readonly account: string; readonly key: string }
  | { readonly kind: 'sas'; readonly sas: string }
  | { readonly kind: 'aad'; readonly credential: AzureTokenCredential };

/** What the blob service records about a blob. */
export interface BlobInfo {
  readonly size: number;
  readonly etag: string;
  /** Base64 Content-MD5, when the blob has one (single-shot uploads always do). */
  readonly md5?: string;
}

type StorageBlobModule = typeof StorageBlob;
let loaded: Promise<StorageBlobModule> | undefined;

function loadStorageBlob(): Promise<StorageBlobModule> {
  loaded ??= (async () => {
    try {
      const specifier = '@azure/storage-blob';
      return (await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as StorageBlobModule;
    } catch (cause) {
      loaded = undefined;
      throw new ModelshipError(
        'DEPENDENCY_MISSING',
        'Azure blob storage needs the optional peer dependency @azure/storage-blob: npm install @azure/storage-blob',
        { cause },
      );
    }
  })();
  return loaded;
}

/** The blob's URL without query, for messages and the cache's bookkeeping. */
export const blobUrl = (loc: BlobLocation): string =>
  `${loc.serviceUrl.replace(/\/+$/, '')}/${encodeURIComponent(loc.container)}/${loc.name.split('/').map(encodeURIComponent).join('/')}`;

/** Maps a storage RestError to a modelship error; the URL and any SAS never appear. */
export function blobError(cause: unknown, loc: BlobLocation, what: string): ModelshipError {
  if (ModelshipError.isInstance(cause)) return cause;
  const status = (cause as { statusCode?: number } | null)?.statusCode;
  const code = (cause as { code?: string } | null)?.code;
  const where = `blob ${loc.name} in container ${loc.container}`;
  if (status === 404)
    return new ModelshipError(
      'MODEL_NOT_FOUND',
      `Azure storage has no ${where} (${code ?? 'BlobNotFound'}) while ${what}.`,
      {
        cause,
        details: { status },
      },
    );
  if (status === 401 || status === 403)
    return new ModelshipError(
      'REGISTRY_AUTH_FAILED',
      `Azure storage refused access to ${where} (HTTP ${status} ${code ?? ''}) while ${what}. Check the datastore's credentials or the identity's Storage Blob Data Reader role.`,
      { cause, details: { status } },
    );
  if (status === 412)
    return new ModelshipError('INTEGRITY_MISMATCH', `The ${where} changed while it was read; retry.`, { cause });
  const abort = (cause as { name?: string } | null)?.name === 'AbortError';
  return new ModelshipError(
    abort ? 'ABORTED' : 'REGISTRY_UNAVAILABLE',
    abort
      ? `Aborted while ${what}.`
      : `Azure storage failed while ${what} (${status ?? code ?? 'network error'}). Retry later.`,
    {
      cause,
      ...(abort ? {} : { retryable: status === undefined || status === 408 || status === 429 || status >= 500 }),
    },
  );
}

/** Checks a downloaded file against the blob's Content-MD5 (and size). */
export async function verifyBlobMd5(path: string, info: BlobInfo, what: string): Promise<void> {
  const size = (await stat(path)).size;
  let got: string | undefined;
  if (info.md5 !== undefined) {
    const md5 = createHash('md5');
    for await (const chunk of createReadStream(path)) md5.update(chunk as Buffer);
    got = md5.digest('base64');
  }
  if (size !== info.size || (info.md5 !== undefined && got !== info.md5))
    throw new ModelshipError(
      'INTEGRITY_MISMATCH',
      `The download of ${what} does not match the Content-MD5/size Azure storage recorded for it; it was discarded. Retry; if it persists, the blob was overwritten without its MD5.`,
      { details: { digest: 'md5' } },
    );
}

/** Blob access through `@azure/storage-blob` (loaded on first use). */
export interface BlobStore {
  stat(loc: BlobLocation, signal?: AbortSignal): Promise<BlobInfo>;
  /** A {@link ModelFile} the cache fills by downloading the blob with the SDK (pinned to its ETag), MD5-checked. */
  modelFile(loc: BlobLocation, extra: { sha256?: string; signal?: AbortSignal }): Promise<ModelFile>;
  /** Names of the blobs under `prefix` (a model folder), following the listing's continuation markers. */
  list(loc: BlobLocation, signal?: AbortSignal): Promise<string[]>;
  /** Uploads `bytes` in one Put Blob with its Content-MD5 (so every reader can check it). */
  upload(loc: BlobLocation, bytes: Uint8Array, signal?: AbortSignal): Promise<BlobInfo>;
  /** A small blob's bytes (a drift baseline beside a model); one larger than `maxBytes` is refused unread. */
  read(loc: BlobLocation, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array>;
}

/** Blob access signed by `auth(loc)` (a datastore's key, or AAD). */
export function createBlobStore(auth: (loc: BlobLocation, signal?: AbortSignal) => Promise<BlobAuth>): BlobStore {
  const pipeline = { retryOptions: { maxTries: 3, retryDelayInMs: 50 } };
  async function connect(loc: BlobLocation, signal?: AbortSignal) {
    const sdk = await loadStorageBlob();
    const a = await auth(loc, signal);
    // A SAS rides in the query string; it is never put in a message (blobError names the blob only).
    const query = a.kind === 'sas' ? `?${a.sas.replace(/^\?/, '')}` : '';
    const credential =
      a.kind === 'key'
        ? new sdk.StorageSharedKeyCredential(a.account, a.key)
        : a.kind === 'aad'
          ? (a.credential as unknown as StorageBlob.AnonymousCredential)
          : new sdk.AnonymousCredential();
    return { sdk, credential, query };
  }
  async function client(loc: BlobLocation, signal?: AbortSignal): Promise<StorageBlob.BlockBlobClient> {
    const { sdk, credential, query } = await connect(loc, signal);
    // The SDK retries throttling and 5xx itself (exponential, Retry-After aware).
    return new sdk.BlockBlobClient(`${blobUrl(loc)}${query}`, credential, pipeline);
  }
  const toInfo = (p: { contentLength?: number; etag?: string; contentMD5?: Uint8Array }): BlobInfo => ({
    size: p.contentLength ?? 0,
    etag: p.etag ?? '',
    ...(p.contentMD5 === undefined ? {} : { md5: Buffer.from(p.contentMD5).toString('base64') }),
  });
  const self: BlobStore = {
    async stat(loc, signal) {
      const c = await client(loc, signal);
      try {
        return toInfo(await c.getProperties(signal === undefined ? {} : { abortSignal: signal }));
      } catch (cause) {
        throw blobError(cause, loc, 'reading the model blob properties');
      }
    },
    async modelFile(loc, extra) {
      const info = await self.stat(loc, extra.signal);
      const url = blobUrl(loc);
      return {
        url,
        size: info.size,
        ...(extra.sha256 === undefined ? {} : { sha256: extra.sha256 }),
        fill: async (temp) => {
          const c = await client(loc, extra.signal);
          try {
            await c.downloadToFile(temp, 0, undefined, {
              conditions: { ifMatch: info.etag },
              ...(extra.signal === undefined ? {} : { abortSignal: extra.signal }),
            });
          } catch (cause) {
            throw blobError(cause, loc, `downloading ${redactUrl(url)}`);
          }
          await verifyBlobMd5(temp, info, `blob ${loc.name}`);
          return info.size;
        },
      };
    },
    async list(loc, signal) {
      const { sdk, credential, query } = await connect(loc, signal);
      const root = blobUrl({ ...loc, name: '' }).replace(/\/$/, '');
      const container = new sdk.ContainerClient(`${root}${query}`, credential, pipeline);
      const names: string[] = [];
      try {
        for await (const b of container.listBlobsFlat({
          prefix: loc.name,
          ...(signal === undefined ? {} : { abortSignal: signal }),
        }))
          names.push(b.name);
      } catch (cause) {
        throw blobError(cause, loc, 'listing the model folder');
      }
      return names;
    },
    async upload(loc, bytes, signal) {
      const c = await client(loc, signal);
      const md5 = createHash('md5').update(bytes).digest();
      try {
        const r = await c.uploadData(bytes, {
          blobHTTPHeaders: { blobContentMD5: md5, blobContentType: 'application/octet-stream' },
          ...(signal === undefined ? {} : { abortSignal: signal }),
        });
        return { size: bytes.byteLength, etag: r.etag ?? '', md5: md5.toString('base64') };
      } catch (cause) {
        throw blobError(cause, loc, 'uploading the model');
      }
    },
    async read(loc, maxBytes, signal) {
      const info = await self.stat(loc, signal);
      if (info.size > maxBytes)
        throw new ModelshipError('INTEGRITY_MISMATCH', `Blob ${loc.name} is larger than ${maxBytes} bytes; not read.`);
      const c = await client(loc, signal);
      try {
        const buffer = await c.downloadToBuffer(0, undefined, {
          conditions: { ifMatch: info.etag },
          ...(signal === undefined ? {} : { abortSignal: signal }),
        });
        return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      } catch (cause) {
        throw blobError(cause, loc, `reading ${loc.name}`);
      }
    },
  };
  return self;
}
