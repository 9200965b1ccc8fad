import { execFile } from 'node:child_process';
import type { LineageGit } from '../../spec/lineage.js';

/** Runs git in `cwd`; resolves its stdout, or `undefined` when git is missing or the command fails. */
export function git(cwd: string, args: readonly string[], input?: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = execFile('git', [...args], { cwd, maxBuffer: 64 * 1024 * 1024, windowsHide: true }, (error, stdout) =>
      resolve(error ? undefined : stdout),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** The repository's top-level directory, or `undefined` outside a git work tree (or without git). */
export async function gitRoot(cwd: string): Promise<string | undefined> {
  return (await git(cwd, ['rev-parse', '--show-toplevel']))?.trim() || undefined;
}

/**
 * HEAD's commit, whether tracked files have uncommitted changes (untracked files do not count: they are
 * usually outputs), and the branch unless HEAD is detached.
 */
export async function gitState(cwd: string): Promise<LineageGit | undefined> {
  const commit = (await git(cwd, ['rev-parse', 'HEAD']))?.trim();
  if (commit === undefined || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) return undefined;
  const status = await git(cwd, ['status', '--porcelain', '--untracked-files=no']);
  const branch = (await git(cwd, ['rev-parse', '--abbrev-ref', 'HEAD']))?.trim();
  return {
    commit,
    dirty: status === undefined ? true : status.trim().length > 0,
    ...(branch && branch !== 'HEAD' ? { branch } : {}),
  };
}

/** Which of `paths` (relative to `cwd`) git stores through the LFS filter, per `.gitattributes`. */
export async function lfsTracked(cwd: string, paths: readonly string[]): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  const out = await git(cwd, ['check-attr', '-z', '--stdin', 'filter'], paths.map((p) => `${p}\0`).join(''));
  const tracked = new Set<string>();
  if (out === undefined) return tracked;
  // -z output: path NUL attribute NUL value NUL, repeated.
  const fields = out.split('\0');
  for (let i = 0; i + 2 < fields.length; i += 3) if (fields[i + 2] === 'lfs') tracked.add(fields[i] as string);
  return tracked;
}
