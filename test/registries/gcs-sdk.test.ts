/**
 * Cloud Storage through @google-cloud/storage (src/clients/gcp/gcs.ts) against the GCS test server: the official
 * client's own uploads (multipart and resumable), ranges and paging pass against the server, then modelship's reads
 * and uploads and every failure it must map: a corrupted transfer, throttling, outages, 401/403, 404, an abort.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGcpAuth } from '../../src/clients/gcp/gcp-auth.js';
import { createGcs, type Gcs } from '../../src/clients/gcp/gcs.js';
import { createGoogleRest } from '../../src/clients/gcp/google-rest.js';
import { ModelshipError } from '../../src/errors/index.js';
import { createHttpClient } from '../../src/platform/node/http-client.js';
import { fetchModelUrl } from '../../src/registries/url/fetch-url.js';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { putObject } from '../servers/vertex/gcs-handler.js';
import { startVertexServer, type VertexTestServer } from '../servers/vertex/server.js';

const TOKEN = 'ya29.gcs-sdk-test-token';
const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('base64');
const errorOf = async (p: Promise<unknown>): Promise<ModelshipError> => {
  const e = await p.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!ModelshipError.isInstance(e)) throw new Error(`expected a ModelshipError, got ${String(e)}`);
  return e;
};

describe('Cloud Storage through @google-cloud/storage', () => {
  let server: VertexTestServer;
  let dir: string;
  let sdk: Storage;
  const gcsWith = (accessToken: string, retries = 2): Gcs => {
    const auth = createGcpAuth({ accessToken });
    const http = createHttpClient({ retries, timeoutMs: 5_000, backoff: { baseMs: 10, maxMs: 20 } });
    return createGcs(createGoogleRest(http, auth, 'Cloud Storage'), auth, server.url);
  };
  let gcs: Gcs;

  beforeAll(async () => {
    server = await startVertexServer();
    server.vertex.tokens.add(TOKEN);
    dir = await tempDir();
    // gs:// URLs use Application Default Credentials: the test account's key file.
    const keyPath = join(dir, 'key.json');
    await writeFile(keyPath, JSON.stringify(server.account.keyFile));
    process.env.GOOGLE_APPLICATION_CREDENTIALS = keyPath;
    process.env.STORAGE_EMULATOR_HOST = server.url;
    // The official client with the test service account's key. Its bundled google-auth-library signs its own JWTs
    // with the key when told to (as Google's GAPIC clients do), so no token endpoint is needed.
    sdk = new Storage({
      apiEndpoint: server.url,
      projectId: server.vertex.project,
      credentials: server.account.keyFile as never,
      useAuthWithCustomEndpoint: true,
      // File.save's retry refuses a ceiling under its 1 s first delay.
      retryOptions: { maxRetryDelay: 1 },
    });
    (sdk.authClient as unknown as { useJWTAccessWithScope: boolean }).useJWTAccessWithScope = true;
    gcs = gcsWith(TOKEN);
  });
  beforeEach(() => {
    server.gcs.faults.length = 0;
    server.gcs.omitHashHeaders = false;
    server.vertex.denied.clear();
  });
  afterAll(async () => {
    delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
    delete process.env.STORAGE_EMULATOR_HOST;
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('the official client: multipart upload, range and validated downloads, paged listing', async () => {
    const file = sdk.bucket('models').file('sdk/multi.bin');
    await file.save(Buffer.from('multipart body'), { resumable: false, validation: 'md5' });
    expect(server.gcs.requests.at(-1)).toMatchObject({ method: 'POST', uploadType: 'multipart', status: 200 });
    expect((await file.download({ validation: 'md5' }))[0].toString()).toBe('multipart body');
    expect((await file.download({ validation: 'crc32c' }))[0].toString()).toBe('multipart body');
    expect((await file.download({ start: 2, end: 5 }))[0].toString()).toBe('ltip');
    // Paging: three items, two per page.
    for (const n of ['a', 'b', 'c']) putObject(server.gcs, 'models', `paged/${n}`, Buffer.from(n));
    server.gcs.maxListResults = 2;
    try {
      const [files] = await sdk.bucket('models').getFiles({ prefix: 'paged/' });
      expect(files.map((f) => f.name)).toEqual(['paged/a', 'paged/b', 'paged/c']);
      expect((await gcs.list('models', 'paged/')).map((o) => o.name)).toEqual(['paged/a', 'paged/b', 'paged/c']);
    } finally {
      server.gcs.maxListResults = 1000;
    }
  });

  it('the official client: a resumable upload in chunks (308 Resume Incomplete until the last one)', async () => {
    const bytes = Buffer.alloc(600 * 1024, 7);
    const file = sdk.bucket('models').file('sdk/resumable.bin');
    // @google-cloud/storage 7.22 signs the session's first POST for a custom endpoint only through
    // createResumableUpload (File.save's own resumable path forgets useAuthWithCustomEndpoint); the session URI then
    // needs no credentials, as on Cloud Storage.
    const [uri] = await file.createResumableUpload();
    expect(new URL(uri).searchParams.get('upload_id')).toMatch(/^[0-9a-f]{32}$/);
    // chunkSize must be a multiple of 256 KiB. A given session is first asked for its status (`bytes */*`, 308 with
    // no Range: nothing received yet), then three chunks, the first two answered 308.
    await pipeline(
      Readable.from([bytes.subarray(0, 300_000), bytes.subarray(300_000)]),
      file.createWriteStream({ uri, resumable: true, chunkSize: 256 * 1024, validation: 'crc32c' }),
    );
    const puts = server.gcs.requests.filter((r) => r.method === 'PUT' && r.uploadType === 'resumable');
    expect(puts.map((r) => r.status)).toEqual([308, 308, 308, 200]);
    const [meta] = await file.getMetadata();
    expect(meta).toMatchObject({ size: String(bytes.length), md5Hash: md5(bytes) });
  });

  it('the official client: a wrong md5Hash in the upload metadata is refused with 400, nothing stored', async () => {
    const e = await sdk
      .bucket('models')
      .file('sdk/lie.bin')
      .save(Buffer.from('x'), { resumable: false, metadata: { md5Hash: md5('y') } })
      .catch((error: unknown) => error as { code?: number });
    expect(e?.code).toBe(400);
    expect(server.gcs.buckets.get('models')?.has('sdk/lie.bin')).toBe(false);
  });

  it('object names with spaces, percent signs, plus and non-ASCII travel intact (SDK encoding, server decoding)', async () => {
    const loc = { bucket: 'models', object: 'odd dir/ünï cødé+100%.onnx' };
    await gcs.upload(loc, new TextEncoder().encode('odd'));
    expect(server.gcs.buckets.get('models')?.has(loc.object)).toBe(true);
    expect(await gcs.stat(loc)).toMatchObject({ name: loc.object, size: 3 });
    expect((await gcs.list('models', 'odd dir/')).map((o) => o.name)).toEqual([loc.object]);
    const got = await fetchModelUrl(`gs://models/${loc.object}`, { cacheDir: join(dir, 'odd'), retries: 0 });
    expect(got.size).toBe(3);
    got.release();
  });

  it('uploads with one multipart request and reads the object back', async () => {
    const o = await gcs.upload({ bucket: 'models', object: 'up/model.onnx' }, new TextEncoder().encode('model'));
    expect(o).toMatchObject({ name: 'up/model.onnx', size: 5, md5Hash: md5('model') });
    expect(server.gcs.requests.at(-1)).toMatchObject({ uploadType: 'multipart', status: 200 });
    expect(await gcs.stat({ bucket: 'models', object: 'up/model.onnx' })).toMatchObject({ size: 5 });
  });

  it('a transfer that does not match the hashes is refused: nothing cached, no partial file left', async () => {
    const onnx = Buffer.from(tinyMnist().onnx);
    const obj = putObject(server.gcs, 'models', 'bad/model.onnx', onnx);
    obj.served = Buffer.from(onnx).fill(1, 100, 140);
    const cacheDir = join(dir, 'tampered');
    const options = { cacheDir, retries: 0 };
    const left = async (sub: string): Promise<string[]> => readdir(join(cacheDir, sub)).catch(() => []);
    try {
      const e = await errorOf(fetchModelUrl('gs://models/bad/model.onnx', options));
      expect(e).toMatchObject({ code: 'INTEGRITY_MISMATCH', details: { digest: 'md5' } });
      expect(await left('blobs/sha256')).toEqual([]);
      expect(await left('tmp')).toEqual([]);
      // A composite object has no md5Hash: its crc32c is what is checked.
      delete obj.md5Hash;
      const crc = await errorOf(fetchModelUrl('gs://models/bad/model.onnx', options));
      expect(crc).toMatchObject({ code: 'INTEGRITY_MISMATCH', details: { digest: 'crc32c' } });
      // An emulator without x-goog-hash: the SDK cannot check, modelship does (same refusal), and accepts good bytes.
      obj.md5Hash = md5(onnx);
      server.gcs.omitHashHeaders = true;
      const unsigned = await errorOf(fetchModelUrl('gs://models/bad/model.onnx', options));
      expect(unsigned).toMatchObject({ code: 'INTEGRITY_MISMATCH', details: { digest: 'md5' } });
      expect(await left('blobs/sha256')).toEqual([]);
      delete obj.served;
      const progress: { url: string; loaded: number; total?: number }[] = [];
      const good = await fetchModelUrl('gs://models/bad/model.onnx', {
        ...options,
        onProgress: (p) => progress.push(p),
      });
      expect(good.sha256).toBe(createHash('sha256').update(onnx).digest('hex'));
      good.release();
      // Progress of the SDK's download, named by its gs:// URL, up to the object's size.
      expect(progress.at(-1)).toEqual({ url: 'gs://models/bad/model.onnx', loaded: onnx.length, total: onnx.length });
    } finally {
      server.gcs.omitHashHeaders = false;
    }
  });

  it('a stalled download times out (idle timeout), is retried, then refused; no partial file is kept', async () => {
    putObject(server.gcs, 'models', 'slow/model.onnx', Buffer.alloc(64 * 1024, 3));
    server.gcs.stallMedia = true;
    const cacheDir = join(dir, 'stalled');
    try {
      const before = server.gcs.requests.length;
      const e = await errorOf(fetchModelUrl('gs://models/slow/model.onnx', { cacheDir, retries: 1, timeoutMs: 200 }));
      expect(e).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', retryable: true });
      // objects.get, then the media download twice (the stalled try and its retry).
      expect(server.gcs.requests.slice(before).length).toBe(3);
      expect(await readdir(join(cacheDir, 'tmp')).catch(() => [])).toEqual([]);
      expect(await readdir(join(cacheDir, 'blobs/sha256')).catch(() => [])).toEqual([]);
    } finally {
      server.gcs.stallMedia = false;
    }
  });

  it('retries 429 and 503 within the budget; past it the outage is REGISTRY_UNAVAILABLE, retryable', async () => {
    putObject(server.gcs, 'models', 'busy/model.onnx', Buffer.from('busy'));
    server.gcs.faults.push({ path: /busy\/model\.onnx$/, status: 429, times: 1 });
    server.gcs.faults.push({ path: /busy\/model\.onnx$/, status: 503, times: 1 });
    const before = server.gcs.requests.length;
    expect((await gcs.stat({ bucket: 'models', object: 'busy/model.onnx' })).size).toBe(4);
    expect(server.gcs.requests.slice(before).map((r) => r.status)).toEqual([429, 503, 200]);
    // Retry-After is read from the answer (and honoured by the backoff).
    server.gcs.faults.push({ path: /busy\/model\.onnx$/, status: 429, times: 5, retryAfterSeconds: 0 });
    const e = await errorOf(gcs.stat({ bucket: 'models', object: 'busy/model.onnx' }));
    expect(e).toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
      retryable: true,
      details: { status: 429, retryAfterMs: 0 },
    });
    expect(server.gcs.requests.slice(before + 3).map((r) => r.status)).toEqual([429, 429, 429]);
    expect(e.message).toContain('429');
  });

  it('401 and 403 are REGISTRY_AUTH_FAILED without the token; 404 is MODEL_NOT_FOUND; an abort is ABORTED', async () => {
    const loc = { bucket: 'models', object: 'up/model.onnx' };
    const bad = await errorOf(gcsWith('ya29.not-a-valid-token').stat(loc));
    expect(bad).toMatchObject({ code: 'REGISTRY_AUTH_FAILED', details: { status: 401 } });
    expect(bad.message).toContain('authError');
    expect(bad.message).not.toContain('ya29');
    server.vertex.denied.add('token');
    const denied = await errorOf(gcs.modelFile(loc, {}));
    expect(denied).toMatchObject({ code: 'REGISTRY_AUTH_FAILED', details: { status: 403 } });
    expect(denied.message).toContain('forbidden');
    expect(denied.message).not.toContain(TOKEN);
    server.vertex.denied.clear();
    expect((await errorOf(gcs.stat({ bucket: 'models', object: 'nope.onnx' }))).code).toBe('MODEL_NOT_FOUND');
    expect((await errorOf(gcs.list('no-such-bucket', 'x/'))).code).toBe('MODEL_NOT_FOUND');
    expect((await errorOf(gcs.stat(loc, AbortSignal.abort()))).code).toBe('ABORTED');
    // A proxy's HTML page in place of the object resource is refused, not read as an empty object.
    server.gcs.htmlMetadata = true;
    try {
      expect(await errorOf(gcs.stat(loc))).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', retryable: false });
    } finally {
      server.gcs.htmlMetadata = false;
    }
  });

  it('STORAGE_EMULATOR_HOST as a URL (the Node SDK: <url>/b/…) or a bare host:port (Go, Python: /storage/v1)', async () => {
    putObject(server.gcs, 'models', 'emu/model.onnx', Buffer.from('emulated'));
    const host = new URL(server.url).host;
    try {
      for (const [value, path] of [
        [server.url, '/b/models/o/emu/model.onnx'],
        [host, '/storage/v1/b/models/o/emu/model.onnx'],
      ] as const) {
        process.env.STORAGE_EMULATOR_HOST = value;
        const before = server.gcs.requests.length;
        // A fresh client per setting: the SDK reads the variable when it is built.
        const auth = createGcpAuth({ accessToken: TOKEN });
        const http = createHttpClient({ retries: 0, timeoutMs: 5_000, backoff: { baseMs: 10, maxMs: 20 } });
        const emu = createGcs(createGoogleRest(http, auth, 'Cloud Storage'), auth, `http://${host}`);
        expect((await emu.stat({ bucket: 'models', object: 'emu/model.onnx' })).size).toBe(8);
        expect(decodeURIComponent(server.gcs.requests[before]?.path ?? ''), value).toBe(path);
      }
    } finally {
      process.env.STORAGE_EMULATOR_HOST = server.url;
    }
  });

  it('without @google-cloud/storage installed, a gs:// model is DEPENDENCY_MISSING saying what to install', async () => {
    // A child process whose module resolution cannot find the SDK, as in an app without it.
    const hook = `export async function resolve(s, c, n) { if (s === '@google-cloud/storage') { const e = new Error('Cannot find package ' + s); e.code = 'ERR_MODULE_NOT_FOUND'; throw e; } return n(s, c); }`;
    const script = `
      import { register } from 'node:module';
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
      const { loadModel } = await import(${JSON.stringify(new URL('../../dist/index.node.js', import.meta.url).href)});
      const e = await loadModel('gs://models/mnist/model.onnx', { cacheDir: process.env.CACHE_DIR }).catch((e) => e);
      console.log(JSON.stringify({ code: e.code, message: e.message }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, CACHE_DIR: join(dir, 'no-sdk') },
    });
    const out = JSON.parse(stdout) as { code: string; message: string };
    expect(out.code).toBe('DEPENDENCY_MISSING');
    expect(out.message).toContain('npm install @google-cloud/storage google-auth-library');
  });

  it('an outage of Cloud Storage: the gs:// model last downloaded is served from the cache', async () => {
    putObject(server.gcs, 'models', 'offline/model.onnx', Buffer.from('offline model'));
    const warnings: string[] = [];
    const options = {
      cacheDir: join(dir, 'offline'),
      retries: 1,
      maxRetryDelayMs: 20,
      onWarning: (w: { code: string }) => void warnings.push(w.code),
    };
    const first = await fetchModelUrl('gs://models/offline/model.onnx', options);
    first.release();
    await server.stop();
    try {
      const offline = await fetchModelUrl('gs://models/offline/model.onnx', options);
      expect(offline.sha256).toBe(first.sha256);
      offline.release();
      const none = await errorOf(fetchModelUrl('gs://models/never/model.onnx', options));
      expect(none).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', retryable: true });
    } finally {
      await server.start();
    }
    expect(warnings).toEqual(['REGISTRY_OFFLINE']);
  });
});
