import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, posix, relative, resolve as resolvePath, sep } from 'node:path';
import { parseDvcFile, parseDvcLock } from '../dvc.js';
import { parseLfsPointer } from '../../core/lfs-pointer.js';
import { parseLineage } from '../schema.js';
import { ModelshipError } from '../../errors/index.js';
import { hasErrnoCode, sha256File } from '../../platform/node/fs-atomic.js';
import type { LineageDataset, LineageDvcOut, LineageLfsObject, LineageRun, ModelLineage } from '../../spec/lineage.js';
import type { RemoteRunRef, TrackingRun } from '../../spec/tracking.js';
import { gitRoot, gitState, lfsTracked } from './git.js';

/** What {@link collectLineage} gathers. */
export interface CollectLineageOptions {
  /** Directory paths are relative to, and where git runs (default: the working directory). */
  readonly cwd?: string;
  /** The training run: a run handle (its server id is awaited), or a reference you already have. */
  readonly run?: TrackingRun | RemoteRunRef | LineageRun;
  /** Data files or directories to identify by content (sha256; a directory by its sorted file list). */
  readonly datasets?: readonly string[];
  /**
   * DVC data versions: `true` (default) reads `dvc.lock` at the repository root and `<dataset>.dvc` next to each
   * dataset; a list names `.dvc` / `dvc.lock` files to read instead; `false` skips DVC.
   */
  readonly dvc?: boolean | readonly string[];
  /** Record the git commit and dirty flag (default true). */
  readonly git?: boolean;
  /** How long to wait for a network tracker to create the run (default 10 s). */
  readonly runTimeoutMs?: number;
}

const toPosix = (path: string): string => path.split(sep).join(posix.sep);
const SKIP_DIRS = new Set(['.git', '.dvc', 'node_modules']);

async function readLfsPointer(path: string): Promise<LineageLfsObject | undefined> {
  const info = await stat(path);
  if (info.size > 1024) return undefined;
  const pointer = parseLfsPointer(await readFile(path, 'utf8').catch(() => ''));
  return pointer === undefined ? undefined : { path, ...pointer };
}

async function walk(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) files.push(...(await walk(path)));
    } else if (entry.isFile()) files.push(path);
  }
  return files;
}

/** Digest of one file, or its LFS pointer when the content was never fetched. */
async function fileDigest(path: string): Promise<{ sha256?: string; size: number; pointer?: LineageLfsObject }> {
  const pointer = await readLfsPointer(path);
  if (pointer !== undefined) return { size: pointer.size, pointer };
  return sha256File(path);
}

async function resolveRun(run: NonNullable<CollectLineageOptions['run']>, timeoutMs: number): Promise<LineageRun> {
  if ('remote' in run && typeof run.remote === 'function') {
    const ref = await run.remote({ timeoutMs });
    return {
      runId: ref.runId ?? run.id,
      runKey: run.id,
      trackingUri: ref.trackingUri,
      ...(ref.experimentId === undefined ? {} : { experimentId: ref.experimentId }),
      ...(ref.url === undefined ? {} : { url: ref.url }),
    };
  }
  const ref = run as RemoteRunRef | LineageRun;
  if (ref.runId === undefined)
    throw new ModelshipError(
      'INVALID_ARGUMENT',
      'collectLineage(): run has no runId yet; pass the run handle instead, which waits for it.',
    );
  return { ...ref, runId: ref.runId } as LineageRun;
}

/**
 * Gathers what `registry.publish({ …, lineage })` records: the training run, the git commit (and whether the
 * tree was dirty), content digests of the data sets, their DVC versions (`.dvc` files and `dvc.lock` outs) and
 * Git LFS objects (from pointers, or from the content of files git stores through LFS). Missing git or DVC files
 * are not errors: those fields are simply left out. Paths are recorded relative to `cwd`, with `/`.
 *
 * @example
 * ```ts
 * const lineage = await collectLineage({ run, datasets: ['data/train.csv'] });
 * await registry.publish({ name: 'mnist', file: './mnist.onnx', lineage });
 * ```
 */
export async function collectLineage(options: CollectLineageOptions = {}): Promise<ModelLineage> {
  const cwd = resolvePath(options.cwd ?? '.');
  const rel = (path: string): string => toPosix(relative(cwd, path)) || '.';
  const lineage: { -readonly [K in keyof ModelLineage]: ModelLineage[K] } = {};
  if (options.run !== undefined) lineage.run = await resolveRun(options.run, options.runTimeoutMs ?? 10_000);
  if (options.git !== false) {
    const state = await gitState(cwd);
    if (state !== undefined) lineage.git = state;
  }

  const datasets: LineageDataset[] = [];
  const lfs: LineageLfsObject[] = [];
  const hashed = new Map<string, string>(); // absolute file → sha256, for LFS oids of fetched files
  for (const given of options.datasets ?? []) {
    const path = resolvePath(cwd, given);
    const info = await stat(path).catch((error: unknown) => {
      if (hasErrnoCode(error, 'ENOENT'))
        throw new ModelshipError('INVALID_ARGUMENT', `collectLineage(): no dataset at ${path}.`, {
          details: { path: given },
        });
      throw error;
    });
    if (info.isDirectory()) {
      const lines: string[] = [];
      let size = 0;
      const files = await walk(path);
      for (const file of files) {
        const digest = await fileDigest(file);
        if (digest.pointer !== undefined) lfs.push({ ...digest.pointer, path: rel(file) });
        else hashed.set(file, digest.sha256 as string);
        lines.push(`${toPosix(relative(path, file))}\t${digest.sha256 ?? digest.pointer?.oid}\n`);
        size += digest.size;
      }
      datasets.push({
        path: rel(path),
        sha256: createHash('sha256').update(lines.join('')).digest('hex'),
        size,
        files: files.length,
      });
    } else {
      const digest = await fileDigest(path);
      if (digest.pointer !== undefined) {
        lfs.push({ ...digest.pointer, path: rel(path) });
        datasets.push({ path: rel(path), size: digest.size });
      } else {
        hashed.set(path, digest.sha256 as string);
        datasets.push({ path: rel(path), sha256: digest.sha256 as string, size: digest.size });
      }
    }
  }
  // Fetched files that git stores through LFS: the LFS oid is the sha256 of their content.
  const root = (await gitRoot(cwd)) ?? cwd;
  const viaLfs = await lfsTracked(
    cwd,
    [...hashed.keys()].map((f) => relative(cwd, f)),
  );
  for (const [file, sha] of hashed) {
    if (viaLfs.has(relative(cwd, file)))
      lfs.push({ path: rel(file), oid: `sha256:${sha}`, size: (await stat(file)).size });
  }

  const dvc: LineageDvcOut[] = [];
  if (options.dvc !== false) {
    const sources =
      options.dvc === undefined || options.dvc === true
        ? [
            join(root, 'dvc.lock'),
            ...(options.datasets ?? []).map((d) => `${resolvePath(cwd, d).replace(/[\\/]+$/, '')}.dvc`),
          ]
        : options.dvc.map((f) => resolvePath(cwd, f));
    for (const source of sources) {
      const text = await readFile(source, 'utf8').catch((error: unknown) => {
        if (hasErrnoCode(error, 'ENOENT') && options.dvc !== undefined && options.dvc !== true) {
          throw new ModelshipError('INVALID_ARGUMENT', `collectLineage(): no DVC file at ${source}.`, {
            details: { path: source },
          });
        }
        return undefined;
      });
      if (text === undefined) continue;
      const outs = basename(source) === 'dvc.lock' ? parseDvcLock(text, rel(source)) : parseDvcFile(text, rel(source));
      for (const out of outs) dvc.push({ ...out, path: rel(resolvePath(dirname(source), out.path)) });
    }
  }

  if (datasets.length > 0) lineage.datasets = datasets;
  if (dvc.length > 0) lineage.dvc = dvc;
  if (lfs.length > 0) lineage.lfs = lfs;
  // Same validation as publish applies, so what is collected is always publishable.
  return parseLineage(lineage);
}
