import { sha256Hex } from '../core/digest.js';
import { isPathRef } from '../core/ref.js';
import { ModelshipError } from '../errors/index.js';
import type { InferenceBackend } from '../spec/backend.js';
import type { RegistryAdapter, ResolvedModel } from '../spec/registry.js';
import { parseLoadModelOptions, type LoadModelOptions } from './load-model-options.js';
import { defaultLogger } from './logger.js';
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
  /** The registry used when `loadModel` is given a named reference and no `registry`. */
  defaultRegistry(): RegistryAdapter;
  /** The platform name reported in metadata (KServe v2 `platform`). */
  readonly platform: string;
  /** Whether a string reference names a file (or URL) for `readFile` rather than a registry entry; defaults to `isPathRef`. */
  isPathRef?(ref: string): boolean;
}

/** What `loadModel` accepts: a registry reference, a file path or URL, or the model's bytes. */
export type ModelRef = string | URL | Uint8Array;

interface Located {
  bytes: Uint8Array;
  name: string;
  version?: string;
  expectedSha256?: string;
  metadata: Record<string, unknown>;
  source: ModelSourceInfo;
}

function fileStem(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? 'model';
  const stem = base.replace(/\.onnx$/i, '');
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(stem) ? stem : 'model';
}

async function locate(runtime: ServingRuntime, ref: ModelRef, registry: RegistryAdapter | undefined, signal?: AbortSignal): Promise<Located> {
  if (ref instanceof Uint8Array) {
    return { bytes: ref, name: 'model', metadata: {}, source: { ref: '<bytes>' } };
  }
  const text = ref instanceof URL ? ref.href : ref;
  if (typeof text !== 'string' || text.length === 0) {
    throw new ModelshipError('INVALID_REF', 'loadModel needs a reference ("mnist@production", "mnist/3", "./model.onnx") or the model bytes.');
  }
  if (runtime.isPathRef ? runtime.isPathRef(text) : isPathRef(text)) {
    const bytes = await runtime.readFile(text);
    return { bytes, name: fileStem(text), metadata: {}, source: { ref: text } };
  }
  const reg = registry ?? runtime.defaultRegistry();
  const resolved: ResolvedModel = await reg.resolve(text, { signal });
  const artifact = await reg.fetch(resolved, { signal });
  const bytes = artifact.kind === 'bytes' ? artifact.bytes : await runtime.readFile(artifact.path);
  return {
    bytes,
    name: resolved.name,
    version: resolved.version,
    ...(resolved.sha256 === undefined ? {} : { expectedSha256: resolved.sha256 }),
    metadata: { ...resolved.metadata },
    source: { ref: text, registry: reg.kind, aliases: resolved.aliases },
  };
}

/**
 * Resolves, fetches, verifies (sha256) and loads a model with the given runtime. Entry points wrap this as
 * `loadModel`; use it directly only to plug in another runtime.
 */
export async function loadModelWith(runtime: ServingRuntime, ref: ModelRef, options?: LoadModelOptions): Promise<Model> {
  const opts = parseLoadModelOptions(options);
  const located = await locate(runtime, ref, opts.registry, opts.signal);
  const sha256 = await sha256Hex(located.bytes);
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
  const session = await backend.createSession({ bytes: located.bytes }, opts.session ?? {});
  if (opts.signal?.aborted) {
    await session.release();
    opts.signal.throwIfAborted();
  }
  return createModel({
    name: opts.name ?? located.name,
    version: opts.version ?? located.version ?? sha256.slice(0, 12),
    sha256,
    size: located.bytes.byteLength,
    session,
    platform: runtime.platform,
    metadata: located.metadata,
    source: located.source,
    ...(opts.maxRows === undefined ? {} : { maxRows: opts.maxRows }),
    warmup: opts.warmup === undefined ? true : (opts.warmup as boolean | { inputs: unknown }),
    logger: opts.logger ?? defaultLogger,
  });
}
