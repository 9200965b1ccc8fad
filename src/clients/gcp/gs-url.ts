import { decodeObjectPath } from '../../core/url-path.js';
import type { ModelFile } from '../../platform/model-store.js';
import { createHttpClient, type HttpClientConfig } from '../../platform/node/http-client.js';
import { createGcpAuth, type GcpAuth } from './gcp-auth.js';
import { createGcs, parseGsUrl } from './gcs.js';
import { createGoogleRest } from './google-rest.js';

/**
 * The Cloud Storage endpoint for `gs://` URLs: `$STORAGE_EMULATOR_HOST` (the variable @google-cloud/storage reads for
 * an emulator, e.g. `http://localhost:4443`; a bare `host:port` means http), else `https://storage.googleapis.com`.
 */
export function storageEndpointFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.STORAGE_EMULATOR_HOST;
  if (host === undefined || host === '') return 'https://storage.googleapis.com';
  return /^https?:\/\//.test(host) ? host : `http://${host}`;
}

let sharedAuth: GcpAuth | undefined;

/**
 * Where a `gs://bucket/object` URL's bytes are for the model cache: the object's current generation, downloaded by
 * @google-cloud/storage with ADC credentials and checked against its md5Hash (or crc32c) before the cache takes it.
 */
export async function gsModelFile(
  url: string,
  http: HttpClientConfig,
  extra: { readonly sha256?: string; readonly signal?: AbortSignal },
): Promise<ModelFile> {
  // One ADC client per process for plain gs:// URLs, so a metadata-server or key-file token is reused between loads.
  sharedAuth ??= createGcpAuth({});
  const gcs = createGcs(
    createGoogleRest(createHttpClient(http), sharedAuth, 'Cloud Storage'),
    sharedAuth,
    storageEndpointFromEnv(),
  );
  const loc = parseGsUrl(url.split('#')[0] as string);
  return gcs.modelFile({ bucket: loc.bucket, object: decodeObjectPath(loc.object) }, extra);
}
