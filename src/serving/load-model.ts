import { sha256Hex } from '../core/digest.js';
import { redactUrl } from '../core/redact.js';
import { assertNotPointer } from '../core/lfs-pointer.js';
import { isPathRef } from '../core/ref.js';
import { isRemoteRef } from '../core/remote-ref.js';
import { ModelshipError } from '../errors/index.js';
import type { BackendSession, InferenceBackend, ModelSource } from '../spec/backend.js';
import type { ModelLineage } from '../spec/lineage.js';
import type {
  DownloadProgress,
  RegistryAdapter,
  RegistryCallOptions,
  RegistryWarning,
  ResolvedModel,
} from '../spec/registry.js';
import { isBatchable, resolveBatching } from './batching/index.js';
import { withLoadSpan } from '../telemetry/index.js';
import { parseLoadModelOptions, type LoadModelOptions, type ParsedLoadModelOptions } from './load-model-options.js';
import { defaultLogger } from './logger.js';
import { logLine } from '../core/logger.js';
import { monitorOf } from '../monitoring/index.js';
import { takeBaseline } from '../registries/kit/baseline-metadata.js';
import { createModel, type Model, type ModelSourceInfo } from './model.js';

/**
 * What `loadModel` needs from the platform it runs on. The Node and browser entry points each provide one,
 * which keeps this file free of `node:` imports and of any particular runtime.
 */
export interface ServingRuntime {
  /** The inference backend (imported lazily by the entry point). */
  backend(): Promise<InferenceBackend>;
  /** Reads a local file; rejects with MODEL_NOT_FOUND when it does not exist. */
  readFile(path: string): Promise<Uint8Array>;
  /**
   * Checks a local model file for loading by path (a regular file; its first bytes and sha256, streamed, or
   * `sha256` as given by a cache that just verified it), so the backend opens the file itself and the model's
   * bytes are never held here. Runtimes without it (browsers) read the file whole with `readFile`.
   */
  inspectFile?(
    path: string,
    sha256?: string,
  ): Promise<{ readonly path: string; readonly size: number; readonly head: Uint8Array; readonly sha256: string }>;
  /** The registry used when `loadModel` is given a named reference and no `registry`. */
  defaultRegistry(): RegistryAdapter;
  /** The platform name reported in metadata (KServe v2 `platform`). */
  readonly platform: string;
  /** Whether a string reference names a file (or URL) for `readFile` rather than a registry entry; defaults to `isPathRef`. */
  isPathRef?(ref: string): boolean;
  /**
   * Brings a model given by URL (`https://…#sha256=…`, `s3://…`) into a local cache and returns the cached file,
   * pinned until `release()`. Runtimes without it refuse URL references.
   */
  fetchUrl?(
    url: string,
    options: FetchUrlRequest,
  ): Promise<{
    readonly path: string;
    readonly sha256: string;
    readonly size: number;
    /** Unpins the cached file; called once the model's session no longer reads it. */
    release(): void;
  }>;
}

/** What `loadModel` passes to {@link ServingRuntime.fetchUrl}. */
export interface FetchUrlRequest {
  readonly signal?: AbortSignal;
  readonly cacheDir?: string;
  readonly maxCacheBytes?: number;
  readonly maxDownloadBytes?: number;
  /** Download progress, as `loadModel`'s `onProgress`. */
  readonly onProgress?: (progress: DownloadProgress) => void;
  /** Served from the cache during an outage, and similar things worth a log line. */
  readonly onWarning?: (warning: RegistryWarning) => void;
  readonly s3?: {
    readonly region?: string;
    readonly endpoint?: string;
    readonly forcePathStyle?: boolean;
    readonly credentials?: {
      readonly accessKeyId: string;
      readonly secretAccessKey: string;
      readonly sessionToken?: string;
    };
  };
}

/** What `loadModel` accepts: a registry reference, a file path or URL, or the model's bytes. */
export type ModelRef = string | URL | Uint8Array;

/** A local model file as located: the cache's verified digest and lease come with a cached one. */
interface LocatedFile {
  readonly path: string;
  readonly sha256?: string;
  readonly release?: () => void;
}

interface Located {
  model: { readonly bytes: Uint8Array } | { readonly file: LocatedFile };
  name: string;
  version?: string;
  expectedSha256?: string;
  metadata: Record<string, unknown>;
  source: ModelSourceInfo;
  lineage?: ModelLineage;
  /** The drift baseline stored with the version, if any. */
  baseline?: unknown;
}

function fileStem(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? 'model';
  const stem = base.replace(/\.onnx$/i, '');
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(stem) ? stem : 'model';
}

/** What the backend is given, with what was verified about it and the lease to drop once the session is released. */
interface Content {
  readonly source: ModelSource;
  /** The model's bytes, or the first of them: enough for the pointer check. */
  readonly head: Uint8Array;
  readonly size: number;
  /** Known when a file was inspected (hashed, or verified by the cache); hashed from `head` otherwise. */
  readonly sha256?: string;
  readonly release?: () => void;
}

async function contentOf(runtime: ServingRuntime, model: Located['model']): Promise<Content> {
  if ('bytes' in model) return { source: model, head: model.bytes, size: model.bytes.byteLength };
  const { path, release } = model.file;
  try {
    if (runtime.inspectFile === undefined) {
      const bytes = await runtime.readFile(path);
      release?.();
      return { source: { bytes }, head: bytes, size: bytes.byteLength };
    }
    const file = await runtime.inspectFile(path, model.file.sha256);
    return {
      source: { path: file.path, sha256: file.sha256, size: file.size },
      head: file.head,
      size: file.size,
      sha256: file.sha256,
      ...(release === undefined ? {} : { release }),
    };
  } catch (error) {
    release?.();
    throw error;
  }
}

/**
 * Keeps the cache's lease on the model file until the session is released: a pool's replacement worker opens the
 * path again after a crash. Only `release` is replaced, on the session itself, so `run` stays the backend's own.
 */
function holdUntilReleased(session: BackendSession, lease: () => void): void {
  const release = session.release.bind(session);
  session.release = () => release().finally(lease);
}

async function locate(
  runtime: ServingRuntime,
  ref: ModelRef,
  opts: ReturnType<typeof parseLoadModelOptions>,
): Promise<Located> {
  if (ref instanceof Uint8Array) {
    return { model: { bytes: ref }, name: 'model', metadata: {}, source: { ref: '<bytes>' } };
  }
  const text = ref instanceof URL ? ref.href : ref;
  if (typeof text !== 'string' || text.length === 0) {
    throw new ModelshipError(
      'INVALID_REF',
      'loadModel needs a reference ("mnist@production", "mnist/3", "./model.onnx") or the model bytes.',
    );
  }
  // A runtime may claim references itself (the browser reads URLs with fetch and its Cache API).
  if (runtime.isPathRef?.(text)) {
    const bytes = await runtime.readFile(text);
    return { model: { bytes }, name: fileStem(text), metadata: {}, source: { ref: text } };
  }
  const signal = opts.signal;
  // Without a listener, an answer served from the cache during an outage still shows up in the log.
  const onWarning =
    opts.onWarning ??
    ((warning: RegistryWarning) =>
      logLine(opts.logger ?? defaultLogger, 'warn', warning.message, {
        'event.dataset': 'modelship.registry',
        'event.action': warning.code,
        'labels.registry': warning.registry,
        ...(warning.version === undefined ? {} : { 'labels.model_version': warning.version }),
      }));
  const calls: RegistryCallOptions = {
    signal,
    onWarning,
    ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }),
  };
  if (isRemoteRef(text)) {
    if (runtime.fetchUrl === undefined)
      throw new ModelshipError(
        'INVALID_REF',
        `This runtime cannot download models; fetch ${redactUrl(text)} yourself and pass the bytes.`,
      );
    const blob = await runtime.fetchUrl(text, {
      ...calls,
      cacheDir: opts.cacheDir,
      maxCacheBytes: opts.maxCacheBytes,
      maxDownloadBytes: opts.maxDownloadBytes,
      s3: opts.s3,
    });
    const file = { path: blob.path, sha256: blob.sha256, release: () => blob.release() };
    // Never keep the query string: presigned URLs carry credentials, and `source` is shown by the HTTP API.
    const publicRef = redactUrl(text);
    return {
      model: { file },
      name: fileStem(publicRef),
      expectedSha256: blob.sha256,
      metadata: {},
      source: { ref: publicRef, registry: 'url' },
    };
  }
  if (isPathRef(text)) {
    return { model: { file: { path: text } }, name: fileStem(text), metadata: {}, source: { ref: text } };
  }
  const reg = opts.registry ?? runtime.defaultRegistry();
  const resolved: ResolvedModel = await reg.resolve(text, calls);
  const artifact = await reg.fetch(resolved, calls);
  return {
    model: artifact.kind === 'bytes' ? { bytes: artifact.bytes } : { file: artifact },
    name: resolved.name,
    version: resolved.version,
    ...(resolved.sha256 === undefined ? {} : { expectedSha256: resolved.sha256 }),
    ...takeBaseline(resolved.metadata),
    source: { ref: text, registry: reg.kind, aliases: resolved.aliases },
    lineage: resolved.lineage,
  };
}

/**
 * Resolves, fetches, verifies (sha256) and loads a model with the given runtime. Entry points wrap this as
 * `loadModel`; use it directly only to plug in another runtime.
 */
export async function loadModelWith(
  runtime: ServingRuntime,
  ref: ModelRef,
  options?: LoadModelOptions,
): Promise<Model> {
  const opts = parseLoadModelOptions(options);
  // Spans carry the reference without query strings: presigned URLs hold credentials.
  const text = ref instanceof Uint8Array ? '<bytes>' : String(ref);
  return withLoadSpan(isRemoteRef(text) ? redactUrl(text) : text, () => load(runtime, ref, opts));
}

async function load(runtime: ServingRuntime, ref: ModelRef, opts: ParsedLoadModelOptions): Promise<Model> {
  const located = await locate(runtime, ref, opts);
  const content = await contentOf(runtime, located.model);
  // Backend events (a worker crashed, restarted) reach the model once it exists.
  const sink: { model?: ReturnType<typeof createModel> } = {};
  let session: BackendSession;
  let sha256: string;
  try {
    assertNotPointer(content.head, located.source.ref);
    sha256 = content.sha256 ?? (await sha256Hex(content.head));
    const expected = (located.expectedSha256 ?? opts.sha256)?.toLowerCase();
    if (expected !== undefined && expected !== sha256) {
      throw new ModelshipError(
        'INTEGRITY_MISMATCH',
        `The model file for ${JSON.stringify(located.source.ref)} has sha256 ${sha256}, but ${expected} was expected. The file was modified or corrupted after it was published; publish it again or restore it. Nothing was loaded.`,
        { details: { expected, actual: sha256 } },
      );
    }
    opts.signal?.throwIfAborted();
    const backend = await runtime.backend();
    session = await backend.createSession(content.source, {
      ...opts.session,
      ...(opts.workers === undefined ? {} : { workers: opts.workers }),
      ...(opts.workerNice === undefined ? {} : { workerNice: opts.workerNice }),
      ...(opts.workerScheduling === undefined ? {} : { workerScheduling: opts.workerScheduling }),
      ...(opts.inline === undefined ? {} : { inline: opts.inline }),
      onEvent: (event) => sink.model?.backendEvent(event),
    });
  } catch (error) {
    content.release?.();
    throw error;
  }
  if (content.release !== undefined) holdUntilReleased(session, content.release);
  if (opts.signal?.aborted) {
    await session.release();
    opts.signal.throwIfAborted();
  }
  const name = opts.name ?? located.name;
  const version = opts.version ?? located.version ?? sha256.slice(0, 12);
  const model = createModel({
    name,
    version,
    sha256,
    size: content.size,
    session,
    platform: runtime.platform,
    metadata: located.metadata,
    source: located.source,
    lineage: located.lineage,
    ...(opts.maxRows === undefined ? {} : { maxRows: opts.maxRows }),
    ...(opts.allowNonFinite === true ? { allowNonFinite: true } : {}),
    warmup: opts.warmup === undefined ? true : (opts.warmup as boolean | { inputs: unknown }),
    batching: resolveBatching(opts.batching, isBatchable(session.signature)),
    calibrationKey: `${sha256}|${JSON.stringify(opts.session ?? {})}|${JSON.stringify(opts.batching ?? 'auto')}`,
    logger: opts.logger ?? defaultLogger,
    ...monitorOf(opts.monitoring, name, version, session.signature, located.baseline),
  });
  sink.model = model;
  return model;
}
