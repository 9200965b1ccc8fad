import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ModelshipError } from '../../errors/index.js';
import type { ModelFile } from '../../platform/model-store.js';
import { crc32c } from './crc32c.js';
import type { GcpAuth } from './gcp-auth.js';
import { GoogleApiError, type GoogleRest } from './google-rest.js';

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
}

/** The Cloud Storage JSON API calls modelship needs. */
export interface Gcs {
  stat(loc: GsLocation, signal?: AbortSignal): Promise<GcsObjectInfo>;
  /** Object names under a prefix (all pages). */
  list(bucket: string, prefix: string, signal?: AbortSignal): Promise<GcsObjectInfo[]>;
  /** The object as a file for the model cache: its generation pinned, its md5Hash (or crc32c) checked. */
  modelFile(loc: GsLocation, extra: { sha256?: string; signal?: AbortSignal }): Promise<ModelFile>;
  upload(loc: GsLocation, bytes: Uint8Array, signal?: AbortSignal): Promise<GcsObjectInfo>;
}

interface ObjectJson {
  name: string;
  size: string;
  generation: string;
  md5Hash?: string;
  crc32c?: string;
}
const info = (o: ObjectJson): GcsObjectInfo => ({
  name: o.name,
  size: Number(o.size),
  generation: o.generation,
  ...(o.md5Hash === undefined ? {} : { md5Hash: o.md5Hash }),
  ...(o.crc32c === undefined ? {} : { crc32c: o.crc32c }),
});

/** Checks a downloaded file against GCS's digests: md5Hash when the object has one, else crc32c (composite objects). */
export async function verifyGcsDigest(
  path: string,
  expected: { md5Hash?: string; crc32c?: string },
  what: string,
): Promise<void> {
  if (expected.md5Hash === undefined && expected.crc32c === undefined) return;
  const md5 = createHash('md5');
  const crc = crc32c();
  for await (const chunk of createReadStream(path)) {
    if (expected.md5Hash !== undefined) md5.update(chunk as Buffer);
    else crc.update(chunk as Buffer);
  }
  const [kind, want, got] =
    expected.md5Hash !== undefined
      ? ['md5', expected.md5Hash, md5.digest('base64')]
      : ['crc32c', expected.crc32c, crc.base64()];
  if (want !== got)
    throw new ModelshipError(
      'INTEGRITY_MISMATCH',
      `The download of ${what} does not match the ${kind} Cloud Storage recorded for it (${String(want)} expected, ${got} received); it was discarded. Retry; if it persists, the object changed while it was read.`,
      { details: { digest: kind } },
    );
}

/** Cloud Storage through its JSON API (the protocol @google-cloud/storage speaks), on the registry's HTTP client. */
export function createGcs(rest: GoogleRest, auth: GcpAuth, endpoint: string): Gcs {
  const root = endpoint.replace(/\/+$/, '');
  const objectUrl = (loc: GsLocation): string =>
    `${root}/storage/v1/b/${encodeURIComponent(loc.bucket)}/o/${encodeURIComponent(loc.object)}`;
  const notFound = (error: unknown, loc: GsLocation): unknown =>
    error instanceof GoogleApiError && error.status === 404
      ? new ModelshipError(
          'MODEL_NOT_FOUND',
          `Cloud Storage has no object gs://${loc.bucket}/${loc.object}. Check the model's artifactUri.`,
          {
            cause: error,
          },
        )
      : error;
  const self: Gcs = {
    async stat(loc, signal) {
      try {
        return info(
          await rest<ObjectJson>({
            method: 'GET',
            url: objectUrl(loc),
            idempotent: true,
            what: 'reading object metadata',
            signal,
          }),
        );
      } catch (error) {
        throw notFound(error, loc);
      }
    },
    async list(bucket, prefix, signal) {
      const out: GcsObjectInfo[] = [];
      const seen = new Set<string>();
      let token: string | undefined;
      do {
        const q = new URLSearchParams({
          prefix,
          maxResults: '1000',
          ...(token === undefined ? {} : { pageToken: token }),
        });
        const page = await rest<{ items?: ObjectJson[]; nextPageToken?: string }>({
          method: 'GET',
          url: `${root}/storage/v1/b/${encodeURIComponent(bucket)}/o?${q.toString()}`,
          idempotent: true,
          what: 'listing the model folder',
          signal,
        }).catch((error: unknown) => {
          throw notFound(error, { bucket, object: prefix });
        });
        out.push(...(page.items ?? []).map(info));
        const next = page.nextPageToken || undefined;
        if (next !== undefined && seen.has(next))
          throw new ModelshipError(
            'REGISTRY_UNAVAILABLE',
            'Cloud Storage repeated a page token while listing objects.',
            {
              retryable: false,
            },
          );
        if (next !== undefined) seen.add(next);
        token = next;
      } while (token !== undefined);
      return out;
    },
    async modelFile(loc, extra) {
      const o = await self.stat(loc, extra.signal);
      const authorization = await auth.authorization(extra.signal);
      const url = `${root}/download/storage/v1/b/${encodeURIComponent(loc.bucket)}/o/${encodeURIComponent(loc.object)}?alt=media&generation=${o.generation}`;
      return {
        url,
        size: o.size,
        headers: { authorization },
        ...(extra.sha256 === undefined ? {} : { sha256: extra.sha256 }),
        verify: (path) => verifyGcsDigest(path, o, `gs://${loc.bucket}/${loc.object}`),
      };
    },
    async upload(loc, bytes, signal) {
      const q = new URLSearchParams({ uploadType: 'media', name: loc.object });
      const o = info(
        await rest<ObjectJson>({
          method: 'POST',
          url: `${root}/upload/storage/v1/b/${encodeURIComponent(loc.bucket)}/o?${q.toString()}`,
          media: { bytes, contentType: 'application/octet-stream' },
          // Same name, same bytes: a repeated upload only adds a generation, so a retry is safe.
          idempotent: true,
          what: 'uploading the model',
          signal,
        }).catch((error: unknown) => {
          throw notFound(error, loc);
        }),
      );
      const md5 = createHash('md5').update(bytes).digest('base64');
      if (o.md5Hash !== undefined && o.md5Hash !== md5)
        throw new ModelshipError(
          'INTEGRITY_MISMATCH',
          `Cloud Storage stored different bytes than were uploaded to gs://${loc.bucket}/${loc.object}; publish again.`,
        );
      return o;
    },
  };
  return self;
}
