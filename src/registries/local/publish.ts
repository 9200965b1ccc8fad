import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { sha256Hex } from '../../core/digest.js';
import { parseLineage } from '../../lineage/schema.js';
import { assertAlias, assertModelName } from '../../core/ref.js';
import { ModelshipError } from '../../errors/index.js';
import {
  copyFileHashed,
  fsyncDir,
  hasErrnoCode,
  writeFileAtomic,
  writeFileDurable,
  type ContentDigest,
} from '../../platform/node/fs-atomic.js';
import type { ModelLineage } from '../../spec/lineage.js';
import type { PublishInput, PublishedModel, RegistryCallOptions } from '../../spec/registry.js';
import type { AliasStore } from './alias-store.js';
import { invalidArgument, throwIfAborted } from '../errors.js';
import { metadataWithBaseline } from '../kit/baseline-metadata.js';
import { type Guard } from './errors.js';
import { isMissing, LOCAL_META_FILE, LOCAL_MODEL_FILE, toMeta, type LocalLayout } from './layout.js';

// A staging dir this old belongs to a publisher that died; anything younger may still be in use.
const STALE_STAGING_MS = 60 * 60 * 1000;
// Each failed claim means another publisher succeeded, so this only bounds a broken filesystem.
const MAX_CLAIM_ATTEMPTS = 1000;

/** Best-effort removal of staging dirs and temp files left by publishers that died. */
async function cleanStale(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const cutoff = Date.now() - STALE_STAGING_MS;
  await Promise.all(
    entries
      .filter((e) => e.name.startsWith('.staging-') || (e.name.startsWith('.') && e.name.endsWith('.tmp')))
      .map(async (e) => {
        const path = join(dir, e.name);
        // A huge copy can take long; the file being written keeps its mtime fresh even when the dir's isn't.
        let newest = (await stat(path)).mtimeMs;
        if (e.isDirectory()) {
          for (const child of await readdir(path))
            newest = Math.max(newest, (await stat(join(path, child)).catch(() => ({ mtimeMs: 0 }))).mtimeMs);
        }
        if (newest < cutoff) await rm(path, { recursive: true, force: true });
      })
      .map((p) => p.catch(() => undefined)),
  );
}

function validatePublishInput(input: PublishInput): {
  aliases: string[];
  metadata: Record<string, unknown>;
  lineage: ModelLineage | undefined;
} {
  if (typeof input !== 'object' || input === null)
    throw invalidArgument('publish() takes an object: { name, file | bytes, aliases?, metadata?, source?, lineage? }.');
  assertModelName(input.name);
  if (input.aliases !== undefined && !Array.isArray(input.aliases))
    throw invalidArgument('aliases must be an array of alias names.');
  const aliases = [...new Set(input.aliases ?? [])];
  for (const alias of aliases) assertAlias(alias);
  const hasFile = input.file !== undefined;
  const hasBytes = input.bytes !== undefined;
  if (hasFile === hasBytes) {
    throw invalidArgument(
      hasFile
        ? 'publish() got both file and bytes; pass exactly one.'
        : 'publish() needs the model: pass file (a path to a .onnx file) or bytes (a Uint8Array).',
    );
  }
  if (hasFile && (typeof input.file !== 'string' || input.file.length === 0))
    throw invalidArgument('file must be a non-empty path string.');
  if (hasBytes && !(input.bytes instanceof Uint8Array))
    throw invalidArgument('bytes must be a Uint8Array (a Buffer is fine).');
  if (hasBytes && input.bytes?.byteLength === 0) throw invalidArgument('bytes is empty; pass the model file content.');
  if (input.source !== undefined && typeof input.source !== 'string')
    throw invalidArgument('source must be a string (a run id, URL or path).');
  const meta = metadataWithBaseline(input.metadata, input.baseline) ?? {};
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta))
    throw invalidArgument('metadata must be a plain object.');
  let metadata: Record<string, unknown>;
  try {
    // Round-trip so the caller gets back exactly what later reads will return.
    metadata = JSON.parse(JSON.stringify(meta)) as Record<string, unknown>;
  } catch (error) {
    throw new ModelshipError('INVALID_ARGUMENT', `metadata must be JSON-serializable (${(error as Error).message}).`, {
      cause: error,
    });
  }
  return { aliases, metadata, lineage: input.lineage === undefined ? undefined : parseLineage(input.lineage) };
}

async function checkSourceFile(file: string): Promise<void> {
  const path = resolvePath(file);
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    if (isMissing(error))
      throw invalidArgument(`Model file not found: ${path}. Check the path passed as file.`, { file: path });
    throw error;
  }
  if (!info.isFile())
    throw invalidArgument(`${path} is not a regular file; pass the path of a .onnx file.`, { file: path });
  if (info.size === 0) throw invalidArgument(`${path} is empty; pass a model file with content.`, { file: path });
}

/** Writes the model into `target` and hashes it. */
async function writeModel(
  input: PublishInput,
  target: string,
  signal: AbortSignal | undefined,
): Promise<ContentDigest> {
  if (input.file === undefined) {
    const bytes = input.bytes as Uint8Array;
    await writeFileDurable(target, bytes);
    return { sha256: await sha256Hex(bytes), size: bytes.byteLength };
  }
  const digest = await copyFileHashed(resolvePath(input.file), target, signal);
  if (digest.size === 0) throw invalidArgument(`${resolvePath(input.file)} became empty while publishing.`);
  return digest;
}

/**
 * Moves `staging` into place as the model's next free version number and returns that number. Racing publishers
 * each get their own number: whoever loses a rename recomputes and tries the next one.
 */
async function claimVersion(
  layout: LocalLayout,
  name: string,
  staging: string,
  meta: (version: string) => string,
  signal: AbortSignal | undefined,
): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(signal);
    const max = ((await layout.versionDirs(name)) ?? []).at(-1);
    const version = max === undefined ? '1' : (BigInt(max) + 1n).toString();
    await writeFileAtomic(join(staging, LOCAL_META_FILE), meta(version));
    try {
      await rename(staging, layout.versionDir(name, version));
      return version;
    } catch (error) {
      // The version directory already exists: a concurrent publisher claimed this number first.
      const lost =
        hasErrnoCode(error, 'EEXIST', 'ENOTEMPTY') ||
        (process.platform === 'win32' && hasErrnoCode(error, 'EPERM', 'EACCES'));
      if (!lost || attempt >= MAX_CLAIM_ATTEMPTS) throw error;
    }
  }
}

/** Everything `publish` needs from the registry it belongs to. */
export interface PublishContext {
  readonly layout: LocalLayout;
  readonly aliases: AliasStore;
  readonly guard: Guard;
}

/**
 * Publishes `input` as the model's next version: crash-safe (the version appears all at once or not at all) and
 * safe to run from several processes at once. Aliases in `input.aliases` are moved to it afterwards.
 */
export async function publishModel(
  context: PublishContext,
  input: PublishInput,
  options?: RegistryCallOptions,
): Promise<PublishedModel> {
  const { layout, guard } = context;
  const signal = options?.signal;
  throwIfAborted(signal);
  const { aliases, metadata, lineage } = validatePublishInput(input);
  const name = input.name;
  return guard(`publishing ${JSON.stringify(name)}`, signal, async () => {
    if (input.file !== undefined) await checkSourceFile(input.file);
    const dir = layout.modelDir(name);
    await mkdir(dir, { recursive: true });
    await cleanStale(dir);
    // Everything is prepared out of sight and appears in one rename, so a crash never leaves half a version.
    const staging = join(dir, `.staging-${randomBytes(8).toString('hex')}`);
    await mkdir(staging);
    const createdAt = new Date().toISOString();
    let digest: ContentDigest;
    let version: string;
    try {
      digest = await writeModel(input, join(staging, LOCAL_MODEL_FILE), signal);
      const { sha256, size } = digest;
      version = await claimVersion(
        layout,
        name,
        staging,
        (v) =>
          `${JSON.stringify(toMeta({ name, version: v, sha256, size, createdAt, metadata, source: input.source, lineage }), null, 2)}\n`,
        signal,
      );
    } catch (error) {
      await rm(staging, { recursive: true, force: true }).catch(() => undefined);
      throw error;
    }
    await fsyncDir(dir);
    if (aliases.length > 0) {
      await context.aliases.update(name, async (current) => {
        for (const alias of aliases) current[alias] = version;
      });
    }
    return {
      name,
      version,
      sha256: digest.sha256,
      size: digest.size,
      aliases: [...aliases].sort(),
      createdAt,
      metadata,
      ...(lineage === undefined ? {} : { lineage }),
    };
  });
}
